"""Helpers for audit tests: committed databases of their own (the CLI and concurrent appenders
need real commits, not the per-test rolled-back transaction), chains of events, and tampering
behind the application's back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from callrec.audit.chain import ChainedEvent, event_hash
from callrec.audit.service import AuditAction, AuditLog
from callrec.kit.clock import FakeClock
from callrec.kit.ids import new_id
from callrec.models import AuditEvent
from tests.dbs import migrated_engine as _migrated
from tests.dbs import temp_database


@contextmanager
def committed_database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    with temp_database(tmp_path) as url:
        engine = _migrated(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


def append_events(session: Session, count: int, clock: FakeClock | None = None) -> None:
    log = AuditLog(session, clock or FakeClock(), client="192.0.2.7")
    org, actor = new_id(), new_id()
    for n in range(count):
        log.append(
            AuditAction.SETTINGS_CHANGED,
            org_id=org,
            actor_id=actor,
            subject=f"user:{actor}",
            details={"n": n, "changes": {"incoming": {"before": "off", "after": "on"}}},
        )
        if clock is not None:
            clock.advance(1)


def drop_triggers(conn: Connection) -> None:
    """What someone with database access does first: the triggers only stop the careless."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
        conn.execute(text("DROP TRIGGER audit_events_no_truncate ON audit_events"))
    else:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("DROP TRIGGER audit_events_no_delete"))


def set_seq(conn: Connection, old: int, new: int) -> None:
    conn.execute(
        text("UPDATE audit_events SET seq = :new WHERE seq = :old"), {"new": new, "old": old}
    )


def row(conn: Connection, seq: int) -> dict[str, Any]:
    found = conn.execute(text("SELECT * FROM audit_events WHERE seq = :s"), {"s": seq}).mappings()
    return dict(found.one())


def forged(session: Session, seq: int, prev_hash: str) -> AuditEvent:
    """A well-formed event with a correct hash of its own, linked to ``prev_hash``."""
    event = ChainedEvent(
        seq=seq,
        occurred_at=FakeClock().now(),
        org_id=None,
        actor_id=None,
        action=str(AuditAction.LOGIN),
        subject="user:forged",
        call_id=None,
        details={},
        client=None,
        prev_hash=prev_hash,
    )
    return AuditEvent(
        seq=seq, occurred_at=event.occurred_at, org_id=None, actor_id=None, action=event.action,
        subject=event.subject, call_id=None, details={}, client=None, prev_hash=prev_hash,
        hash=event_hash(event),
    )  # fmt: skip
