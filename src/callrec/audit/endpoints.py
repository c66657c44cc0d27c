"""HTTP adapters for the audit log: query events (org admins: their org; platform admins:
all) and verify the chain (platform admins)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from callrec.access.deps import ActorDep
from callrec.audit.schemas import AuditEventRead, AuditPage, BrokenLinkRead, VerificationRead
from callrec.audit.service import MAX_PAGE, AuditAction, AuditService, EventFilter, parse_anchor
from callrec.kit.deps import SessionDep

router = APIRouter(tags=["audit"])


@router.get("/audit/events", response_model=AuditPage)
def list_events(
    actor: ActorDep,
    session: SessionDep,
    user: Annotated[
        uuid.UUID | None, Query(description="Actor of, or user named by, the event")
    ] = None,
    call: uuid.UUID | None = None,
    action: AuditAction | None = None,
    since: Annotated[datetime | None, Query(description="Inclusive, with a time zone")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive, with a time zone")] = None,
    org: Annotated[uuid.UUID | None, Query(description="Platform admins: one org")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> AuditPage:
    """Newest first; follow ``next_cursor`` for older events (keyset, stable under appends)."""
    page = AuditService(session).events(
        actor,
        EventFilter(
            org_id=org,
            user_id=user,
            call_id=call,
            action=None if action is None else str(action),
            since=since,
            until=until,
            cursor=cursor,
            limit=limit,
        ),
    )
    return AuditPage(
        events=[AuditEventRead.model_validate(e) for e in page.events],
        next_cursor=page.next_cursor,
    )


@router.get("/audit/verify", response_model=VerificationRead)
def verify_chain(
    actor: ActorDep,
    session: SessionDep,
    anchor: Annotated[
        str | None, Query(max_length=100, description="SEQ:HASH of a head recorded earlier")
    ] = None,
) -> VerificationRead:
    """Walks the whole chain; reports the first broken link."""
    result = AuditService(session).verify(actor, parse_anchor(anchor) if anchor else None)
    broken = result.broken
    return VerificationRead(
        ok=result.ok,
        count=result.count,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        broken=None
        if broken is None
        else BrokenLinkRead(seq=broken.seq, kind=broken.kind, message=broken.message),
    )
