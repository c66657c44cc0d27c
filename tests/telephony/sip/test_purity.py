"""The SIP message layer stays pure: stdlib only, no I/O, no asyncio, small modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import callrec.telephony.sip

PACKAGE = Path(callrec.telephony.sip.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
# Modules that would mean I/O, a clock or an event loop inside a value object.
FORBIDDEN = {"asyncio", "socket", "selectors", "ssl", "io", "os", "time", "threading", "logging"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_only_the_stdlib_and_itself(path: Path) -> None:
    for name in _imports(path):
        root = name.split(".")[0]
        assert root not in FORBIDDEN, f"{path.name} imports {name}"
        assert root in sys.stdlib_module_names or name.startswith("callrec.telephony.sip"), (
            f"{path.name} imports {name}"
        )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) < 300


def test_the_checks_see_the_code() -> None:
    assert len(MODULES) >= 7
