"""Alembic defines the schema: the models match head (``alembic check``), and the chain
upgrades and downgrades cleanly, on the backend under test."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from callrec.cli import alembic_config
from callrec.kit.db import make_engine
from tests.dbs import temp_database


def test_models_match_the_migrations_and_the_chain_round_trips(tmp_path: Path) -> None:
    with temp_database(tmp_path) as url:
        config = alembic_config(url)
        command.upgrade(config, "head")
        command.check(config)  # raises if autogenerate would emit any operation
        command.downgrade(config, "base")
        engine = make_engine(url)
        try:
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        finally:
            engine.dispose()
        command.upgrade(config, "head")
        engine = make_engine(url)
        try:
            assert {"orgs", "teams", "users", "devices"} <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
