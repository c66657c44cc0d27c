"""Concurrent appenders never fork the chain: two connections appending 200 events each, every
event in its own transaction, leave one unbroken chain of 400."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.audit.chain import verify
from callrec.audit.repository import AuditRepository
from callrec.audit.service import AuditAction, AuditLog
from callrec.kit.clock import SystemClock
from callrec.kit.db import make_sessionmaker
from callrec.models import AuditEvent
from tests.audit.chains import committed_database

PER_THREAD = 200


def test_two_concurrent_appenders_leave_one_unbroken_chain(tmp_path: Path) -> None:
    with committed_database(tmp_path) as (_url, engine):
        factory = make_sessionmaker(engine)
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def appender(name: str) -> None:
            try:
                start.wait(timeout=30)
                for n in range(PER_THREAD):
                    with factory() as session:
                        AuditLog(session, SystemClock()).append(
                            AuditAction.PLAYBACK, org_id=None, actor_id=None,
                            subject=f"{name}:{n}",
                        )  # fmt: skip
                        session.commit()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=appender, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "an appender hung"
        assert errors == []

        with Session(engine) as session:
            result = verify(AuditRepository(session).walk())
            subjects = session.scalars(select(AuditEvent.subject).order_by(AuditEvent.seq)).all()
        assert result.ok and result.count == 2 * PER_THREAD, result.broken
        # Both appenders' events are all there, each appender's in its own order.
        for name in ("a", "b"):
            mine = [s for s in subjects if s and s.startswith(f"{name}:")]
            assert mine == [f"{name}:{n}" for n in range(PER_THREAD)]
