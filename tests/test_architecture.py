"""The house rules DESIGN.md states, enforced by walking the source's AST."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "callrec"
FRAMEWORKS = {"fastapi", "starlette", "sqlalchemy", "asyncio", "alembic", "pydantic", "typer"}
PURE = [*sorted((SRC / "policy").rglob("*.py")), SRC / "access" / "rules.py",
        *sorted((SRC / "media").rglob("*.py"))]  # fmt: skip
SERVICES = sorted(
    p for p in SRC.rglob("*.py") if p.stem == "service" or p.stem.endswith("_service")
)
MAX_LINES = 600
PURE_MODULES = ("callrec.policy", "callrec.access.rules", "callrec.media")


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _rel(path: Path) -> str:
    return str(path.relative_to(SRC))


@pytest.mark.parametrize("path", PURE, ids=_rel)
def test_pure_cores_import_no_framework(path: Path) -> None:
    roots = _imported_roots(ast.parse(path.read_text()))
    assert not roots & FRAMEWORKS, f"{_rel(path)} imports {sorted(roots & FRAMEWORKS)}"


@pytest.mark.parametrize("path", PURE, ids=_rel)
def test_pure_cores_import_only_pure_callrec_modules(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("callrec"):
            assert node.module.startswith(PURE_MODULES), f"{_rel(path)}: {node.module}"


@pytest.mark.parametrize("path", SERVICES, ids=_rel)
def test_services_never_commit(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr != "commit", f"{_rel(path)}:{node.lineno} calls commit()"


def test_only_the_cli_imports_typer_or_rich() -> None:
    offenders = [
        _rel(p)
        for p in SRC.rglob("*.py")
        if p.name != "cli.py" and _imported_roots(ast.parse(p.read_text())) & {"typer", "rich"}
    ]
    assert offenders == []


def test_no_module_grows_past_the_limit() -> None:
    long = {
        _rel(p): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these along a real boundary: {long}"


def test_the_checks_see_the_code() -> None:
    # Guards against a path typo making every parametrised check above vacuous.
    assert len(PURE) >= 3 and len(SERVICES) >= 3
