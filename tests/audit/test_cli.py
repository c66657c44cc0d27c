"""`callrec audit verify` and `callrec audit query` through the real CLI, on a committed
database of their own, with the chain tampered with behind the application's back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callrec.audit.service import AuditAction, AuditLog
from callrec.cli import app
from callrec.kit.clock import FakeClock
from callrec.kit.settings import get_settings
from tests.audit.chains import (
    append_events,
    committed_database,
    drop_triggers,
    forged,
    row,
    set_seq,
)
from tests.directory.factories import World, build_world


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A committed database with 10 events; the CLI reads it through CALLREC_DATABASE_URL."""
    with committed_database(tmp_path) as (url, engine):
        with Session(engine) as session:
            append_events(session, 10, FakeClock())
            session.commit()
        monkeypatch.setenv("CALLREC_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            yield engine
        finally:
            get_settings.cache_clear()


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_verify_reports_an_intact_chain_with_its_count(database: Engine) -> None:
    code, out = cli("audit", "verify")
    assert code == 0, out
    head = row(database.connect(), 10)["hash"]
    assert out.splitlines() == [f"OK: 10 events, the chain is intact (head #10 {head})"]


def test_the_triggers_refuse_update_and_delete(database: Engine) -> None:
    for statement in ("UPDATE audit_events SET client = 'x' WHERE seq = 3",
                      "DELETE FROM audit_events WHERE seq = 10"):  # fmt: skip
        with pytest.raises(DBAPIError, match="append-only"), database.begin() as conn:
            conn.execute(text(statement))
    assert cli("audit", "verify")[0] == 0


def test_verify_names_an_edited_event(database: Engine) -> None:
    with database.begin() as conn:
        drop_triggers(conn)
        details = json.dumps({"n": 4, "changes": {"incoming": {"before": "on", "after": "on"}}})
        conn.execute(text("UPDATE audit_events SET details = :d WHERE seq = 5"), {"d": details})
    code, out = cli("audit", "verify")
    assert code == 1
    assert out.splitlines()[0] == (
        "BROKEN at event #5 (edited): event #5 was edited: its content does not match its hash"
    )
    assert "the 4 events before it are intact" in out


def test_verify_names_a_deleted_event(database: Engine) -> None:
    with database.begin() as conn:
        drop_triggers(conn)
        conn.execute(text("DELETE FROM audit_events WHERE seq = 7"))
    code, out = cli("audit", "verify")
    assert code == 1
    assert out.startswith("BROKEN at event #7 (deleted): event #7 is missing"), out


def test_verify_names_reordered_events(database: Engine) -> None:
    with database.begin() as conn:
        drop_triggers(conn)
        set_seq(conn, 3, -3)
        set_seq(conn, 4, 3)
        set_seq(conn, -3, 4)
    code, out = cli("audit", "verify")
    assert code == 1
    assert out.startswith("BROKEN at event #3 (reordered)"), out


def test_verify_names_an_inserted_event(database: Engine) -> None:
    with database.begin() as conn:
        drop_triggers(conn)
        for seq in range(10, 5, -1):  # make room at #6, from the top down (seq is unique)
            set_seq(conn, seq, seq + 1)
        prev = row(conn, 5)["hash"]
    with Session(database) as session:
        session.add(forged(session, 6, prev))
        session.commit()
    code, out = cli("audit", "verify")
    assert code == 1
    assert out.startswith("BROKEN at event #7 (inserted): event #7 was appended as #6"), out


def test_verify_names_an_event_whose_hash_was_recomputed(database: Engine) -> None:
    """An attacker who edits #4 and recomputes its hash is caught by #5's link."""
    with database.begin() as conn:
        drop_triggers(conn)
        conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    with Session(database) as session:
        session.add(forged(session, 4, row(session.connection(), 3)["hash"]))
        session.commit()
    code, out = cli("audit", "verify")
    assert code == 1
    assert out.startswith("BROKEN at event #5 (broken_link)"), out


def test_query_filters_by_user_action_and_time(database: Engine) -> None:
    clock = FakeClock()
    with Session(database) as session:
        world: World = build_world(session)
        alice = world.users["alice"]
        log = AuditLog(session, clock)
        for action in (AuditAction.LOGIN, AuditAction.LOGIN_FAILED, AuditAction.LOGIN):
            clock.advance(3600)
            log.append(action, org_id=alice.org_id, actor_id=alice.id, subject=f"user:{alice.id}")
        session.commit()
        email, alice_id = alice.email, str(alice.id)
    code, out = cli("audit", "query", "--user", email, "--action", "auth.login", "--json")
    assert code == 0, out
    found = [json.loads(line) for line in out.splitlines()]
    assert [e["action"] for e in found] == ["auth.login", "auth.login"]
    assert all(e["actor_id"] == alice_id for e in found)
    assert found[0]["seq"] > found[1]["seq"]  # newest first

    code, out = cli("audit", "query", "--user", email, "--since", "2026-01-01T01:30:00",
                    "--until", "2026-01-01T02:30:00Z", "--json")  # fmt: skip
    assert [json.loads(line)["action"] for line in out.splitlines()] == ["auth.login_failed"]

    code, out = cli("audit", "query", "--user", email, "--limit", "2")
    assert code == 0 and out.count("auth.login") == 2  # auth.login and auth.login_failed
    assert out.count(email) == 2  # the actor column shows the email


def test_query_refuses_an_unknown_action_and_user(database: Engine) -> None:
    result = CliRunner().invoke(app, ["audit", "query", "--action", "auth.lgoin"])
    assert result.exit_code == 2 and "unknown action 'auth.lgoin'" in result.output
    result = CliRunner().invoke(app, ["audit", "query", "--user", "nobody@example.com"])
    assert result.exit_code == 2 and "no user with email" in result.output
    result = CliRunner().invoke(app, ["audit", "query", "--since", "yesterday"])
    assert result.exit_code == 2 and "--since must be ISO 8601" in result.output


def test_an_anchor_catches_what_the_chain_alone_cannot(database: Engine) -> None:
    code, out = cli("audit", "verify")
    head = out.split("head ", 1)[1].rstrip(")\n")  # "#10 <hash>", as printed
    seq, digest = head.removeprefix("#").split()
    with database.begin() as conn:
        drop_triggers(conn)
        conn.execute(text("DELETE FROM audit_events WHERE seq > 8"))
    assert cli("audit", "verify")[0] == 0  # a cut end looks like a shorter chain
    code, out = cli("audit", "verify", "--anchor", f"{seq}:{digest}")
    assert code == 1
    assert out.startswith("BROKEN at event #9 (truncated): the chain ends at #8 but #10 was "
                          "recorded"), out  # fmt: skip
    result = CliRunner().invoke(app, ["audit", "verify", "--anchor", "10:beef"])
    assert result.exit_code == 2 and "an anchor is SEQ:HASH" in result.output
