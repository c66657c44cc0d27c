"""Test databases: SQLite in a temp dir or a fresh PostgreSQL database per run, built through
Alembic (never ``create_all``), dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from callrec.cli import alembic_config
from callrec.kit.db import make_engine

BACKEND = os.environ.get("CALLREC_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "CALLREC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def temp_database(tmp_dir: Path) -> Iterator[str]:
    """A new empty database URL of the selected backend, removed on exit."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_dir / f'callrec-{uuid.uuid4().hex[:8]}.db'}"
        return
    if BACKEND != "postgresql":
        raise RuntimeError(f"CALLREC_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")
    name = f"callrec_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated_engine(url: str) -> Engine:
    command.upgrade(alembic_config(url), "head")
    return make_engine(url)
