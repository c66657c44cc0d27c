"""Jobs are sent only after the transaction that made their rows commits, and dropped when it
rolls back: a worker must never load an id that does not exist yet (or ever).

Each job is tied to the innermost transaction open when it was enqueued. A savepoint that
commits hands its jobs to its parent; one that rolls back drops them (and only them); the root
transaction's commit sends what it holds. SQLAlchemy fires ``after_commit`` for savepoints too,
so the outcome is noted there and acted on in ``after_transaction_end``, which names the
transaction that ended.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from callrec.kit.db import QUEUE_INFO_KEY as QUEUE_KEY
from callrec.kit.logging import get_logger
from callrec.worker.queue import JobQueue

log = get_logger("callrec.worker")
_PENDING = "callrec.pending_jobs"
_COMMITTED = "callrec.committed"

_Pending = list[tuple[SessionTransaction, str, tuple[str, ...]]]


def enqueue(session: Session, name: str, *args: str) -> None:
    if QUEUE_KEY not in session.info:
        raise RuntimeError("this session has no job queue: build it with make_sessionmaker(queue=)")
    # Begin now if nothing has: a job must belong to a transaction that can roll it back.
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    pending: _Pending = session.info.setdefault(_PENDING, [])
    pending.append((transaction, name, args))


@event.listens_for(Session, "after_commit")
def _note_commit(session: Session) -> None:
    session.info[_COMMITTED] = True


@event.listens_for(Session, "after_transaction_end")
def _settle(session: Session, transaction: SessionTransaction) -> None:
    committed = session.info.pop(_COMMITTED, False)
    pending: _Pending | None = session.info.get(_PENDING)
    if not pending:
        return
    mine = [job for job in pending if job[0] is transaction]
    if not mine:
        return
    rest = [job for job in pending if job[0] is not transaction]
    parent = transaction.parent
    if committed and parent is not None:
        rest.extend((parent, name, args) for _, name, args in mine)
    session.info[_PENDING] = rest
    if committed and parent is None:
        _send(session, [(name, args) for _, name, args in mine])


def _send(session: Session, jobs: list[tuple[str, tuple[str, ...]]]) -> None:
    """The rows are committed; a queue that is down must not turn that into an error. The
    periodic recovery job finds work whose job never arrived and sends it again."""
    queue: JobQueue | Any = session.info.get(QUEUE_KEY)
    if queue is None:
        return
    for name, args in jobs:
        try:
            queue.send(name, *args)
        except Exception:
            log.exception("job.send_failed", job=name, args=list(args))
