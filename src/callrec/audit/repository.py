"""Queries for the audit log: the chain head under the chain lock, appends, the chain walk for
verification, and keyset pages of events (newest first, never OFFSET)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, text
from sqlalchemy.orm import Session

from callrec.audit.chain import ChainedEvent, StoredEvent
from callrec.models import AuditEvent, User

# One chain for the installation, so one lock. The key is the first 8 bytes of
# SHA-256("callrec.audit_events") as a signed bigint: unlikely to meet another application's.
CHAIN_LOCK_KEY = 2962127790525811789
_WALK_BATCH = 2000


@dataclass(frozen=True, slots=True)
class EventQuery:
    org_id: uuid.UUID | None = None  # None: every org and the installation's own events
    all_orgs: bool = False  # True only for platform admins and the CLI
    user_id: uuid.UUID | None = None  # the actor, or the user the event is about
    call_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    before_seq: int | None = None  # the keyset cursor: events older than this one
    limit: int = 100


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_chain(self) -> None:
        """Serialise appenders until this transaction ends, so two never read the same head
        (which would fork the chain). SQLite needs nothing: every transaction there begins
        with BEGIN IMMEDIATE, which already holds the one write lock until commit."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY}
            )

    def head(self) -> tuple[int, str] | None:
        row = self.session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        return None if row is None else (row[0], row[1])

    def add(self, event: AuditEvent) -> None:
        self.session.add(event)
        self.session.flush()

    def walk(self) -> Iterator[StoredEvent]:
        """Every event in seq order, fetched in keyset batches (plain rows, no identity map)."""
        last = 0
        table = AuditEvent.__table__
        while True:
            rows = self.session.execute(
                select(table).where(table.c.seq > last).order_by(table.c.seq).limit(_WALK_BATCH)
            ).all()
            for row in rows:
                yield StoredEvent(
                    ChainedEvent(
                        seq=row.seq,
                        occurred_at=row.occurred_at,
                        org_id=row.org_id,
                        actor_id=row.actor_id,
                        action=row.action,
                        subject=row.subject,
                        call_id=row.call_id,
                        details=row.details,
                        client=row.client,
                        prev_hash=row.prev_hash,
                    ),
                    row.hash,
                )
            if len(rows) < _WALK_BATCH:
                return
            last = rows[-1].seq

    def page(self, query: EventQuery) -> Sequence[AuditEvent]:
        statement = select(AuditEvent).where(*_conditions(query))
        return self.session.scalars(
            statement.order_by(AuditEvent.seq.desc()).limit(query.limit)
        ).all()

    def emails(self, user_ids: set[uuid.UUID]) -> dict[str, str]:
        if not user_ids:
            return {}
        rows = self.session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all()
        return {str(user_id): email for user_id, email in rows}


def _conditions(query: EventQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not query.all_orgs or query.org_id is not None:
        conditions.append(AuditEvent.org_id == query.org_id)
    if query.user_id is not None:
        conditions.append(
            or_(AuditEvent.actor_id == query.user_id, AuditEvent.subject == f"user:{query.user_id}")
        )
    if query.call_id is not None:
        conditions.append(AuditEvent.call_id == query.call_id)
    if query.action is not None:
        conditions.append(AuditEvent.action == query.action)
    if query.since is not None:
        conditions.append(AuditEvent.occurred_at >= query.since)
    if query.until is not None:
        conditions.append(AuditEvent.occurred_at < query.until)
    if query.before_seq is not None:
        conditions.append(AuditEvent.seq < query.before_seq)
    return conditions
