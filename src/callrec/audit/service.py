"""The audit log: appending events to the one hash chain, reading and verifying it.

``AuditLog.append`` writes in the caller's transaction (services never commit; the edge does):
an action whose transaction rolls back leaves no event, and an event never outlives a change
that did not happen. Appends take the chain lock first (see ``AuditRepository.lock_chain``),
so concurrent appenders queue instead of forking the chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.rules import Actor
from callrec.audit.chain import (
    GENESIS,
    Anchor,
    ChainedEvent,
    Verification,
    event_hash,
    normalise_details,
    verify,
)
from callrec.audit.repository import AuditRepository, EventQuery
from callrec.audit.rules import can_read_audit, can_verify_audit
from callrec.kit.clock import Clock, SystemClock
from callrec.kit.errors import BadRequest, NotFound
from callrec.models import AuditEvent

_ORIGIN_KEY = "callrec.audit.origin"
MAX_PAGE = 500


class AuditAction(StrEnum):
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    TOKEN_ISSUED = "auth.token_issued"
    TOKEN_REVOKED = "auth.token_revoked"
    PASSWORD_CHANGED = "auth.password_changed"
    PLAYBACK = "recording.playback"
    DOWNLOAD = "recording.download"
    SETTINGS_CHANGED = "settings.changed"
    PERMISSION_CHANGED = "permission.changed"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the requests of one database session come from, bound once at the request edge
    so services that take no clock or request can still say when and from where."""

    clock: Clock
    client: str | None


def bind_origin(session: Session, clock: Clock, client: str | None) -> None:
    session.info[_ORIGIN_KEY] = Origin(clock, client)


class AuditLog:
    def __init__(self, session: Session, clock: Clock, *, client: str | None = None) -> None:
        self.session = session
        self.clock = clock
        # The default for events that name no client themselves: the request's, if bound.
        self.client = client if client is not None else _bound_origin(session, None).client
        self.repo = AuditRepository(session)

    @classmethod
    def of(cls, session: Session) -> AuditLog:
        """The log for a session: the origin the request edge bound, else (the CLI, jobs)
        the system clock and no client address."""
        origin = _bound_origin(session, SystemClock())
        return cls(session, origin.clock, client=origin.client)

    def append(
        self,
        action: AuditAction,
        *,
        org_id: uuid.UUID | None,
        actor_id: uuid.UUID | None,
        subject: str | None = None,
        call_id: uuid.UUID | None = None,
        details: dict[str, Any] | None = None,
        client: str | None = None,
    ) -> None:
        self.repo.lock_chain()
        head = self.repo.head()
        seq, prev_hash = (1, GENESIS) if head is None else (head[0] + 1, head[1])
        chained = ChainedEvent(
            seq=seq,
            occurred_at=self.clock.now(),
            org_id=org_id,
            actor_id=actor_id,
            action=str(action),
            subject=subject,
            call_id=call_id,
            details=normalise_details(details),
            client=client if client is not None else self.client,
            prev_hash=prev_hash,
        )
        self.repo.add(
            AuditEvent(
                seq=chained.seq,
                occurred_at=chained.occurred_at,
                org_id=chained.org_id,
                actor_id=chained.actor_id,
                action=chained.action,
                subject=chained.subject,
                call_id=chained.call_id,
                details=dict(chained.details),
                client=chained.client,
                prev_hash=chained.prev_hash,
                hash=event_hash(chained),
            )
        )


def _bound_origin(session: Session, clock: Clock | None) -> Origin:
    origin = session.info.get(_ORIGIN_KEY)
    if isinstance(origin, Origin):
        return origin
    return Origin(clock or SystemClock(), None)


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {"before": …, "after": …}}`` for the fields whose value differs."""
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    }


@dataclass(frozen=True, slots=True)
class EventFilter:
    org_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    call_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[AuditEvent]
    next_cursor: str | None


class AuditService:
    """Reading the log. ``actor`` None is the operator at the CLI, who sees everything."""

    def __init__(self, session: Session) -> None:
        self.repo = AuditRepository(session)

    def events(self, actor: Actor | None, wanted: EventFilter) -> EventPage:
        query = EventQuery(
            user_id=wanted.user_id,
            call_id=wanted.call_id,
            action=wanted.action,
            since=_aware(wanted.since, "since"),
            until=_aware(wanted.until, "until"),
            before_seq=_cursor(wanted.cursor),
            limit=min(max(wanted.limit, 1), MAX_PAGE),
            **_tenancy(actor, wanted.org_id),
        )
        found = list(self.repo.page(query))
        more = len(found) == query.limit
        return EventPage(found, str(found[-1].seq) if more and found else None)

    def collect(self, wanted: EventFilter, limit: int) -> list[AuditEvent]:
        """Up to ``limit`` events for the operator (no actor), following the pages."""
        found: list[AuditEvent] = []
        cursor: str | None = None
        while len(found) < limit:
            ask = replace(wanted, cursor=cursor, limit=min(MAX_PAGE, limit - len(found)))
            page = self.events(None, ask)
            found.extend(page.events)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return found

    def actor_emails(self, events: list[AuditEvent]) -> dict[str, str]:
        """Today's email of each actor still in the directory (for display only)."""
        return self.repo.emails({e.actor_id for e in events if e.actor_id is not None})

    def verify(self, actor: Actor | None, anchor: Anchor | None = None) -> Verification:
        if actor is not None:
            require(can_verify_audit(actor))
        return verify(self.repo.walk(), anchor)


def _tenancy(actor: Actor | None, org_id: uuid.UUID | None) -> dict[str, Any]:
    if actor is None or actor.is_platform_admin:
        return {"org_id": org_id, "all_orgs": True}
    require(can_read_audit(actor))
    if org_id is not None and org_id != actor.org_id:
        raise NotFound(f"org {org_id} not found", details={"id": str(org_id)})
    return {"org_id": actor.org_id, "all_orgs": False}


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise BadRequest(
            f"{name} needs a time zone (e.g. 2026-01-01T00:00:00Z)", details={"field": name}
        )
    return moment


def parse_instant(text: str, name: str) -> datetime:
    """ISO 8601; without a zone the time is UTC (the CLI's convenience)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(
            f"{name} must be ISO 8601, e.g. 2026-01-31T09:00:00Z", details={"field": name}
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_anchor(text: str) -> Anchor:
    """``SEQ:HASH``, as ``callrec audit verify`` prints the head (``#SEQ HASH`` works too)."""
    seq, sep, digest = text.replace("#", "").replace(" ", ":").partition(":")
    digest = digest.strip().lower()
    if not sep or not seq.isdigit() or int(seq) < 1 or len(digest) != 64 or not _is_hex(digest):
        raise BadRequest(
            "an anchor is SEQ:HASH, e.g. 1042:41ab… (64 hex digits)", details={"anchor": text}
        )
    return Anchor(int(seq), digest)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or int(cursor) < 1:
        raise BadRequest("cursor is not one this API returned", details={"cursor": cursor})
    return int(cursor)
