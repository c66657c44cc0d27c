"""HTTP adapters for ingesting call history."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from callrec.access.deps import ActorDep
from callrec.calls.report_endpoints import router as report_router
from callrec.calls.schemas import CallCreate, CallRead
from callrec.calls.service import CallService
from callrec.kit.deps import SessionDep
from callrec.models import Call

router = APIRouter(tags=["calls"])
router.include_router(report_router)  # call-list reports, unified history, saved filters


def call_read(call: Call) -> CallRead:
    return CallRead.model_validate(
        {
            **{f: getattr(call, f) for f in CallRead.model_fields if f != "team_ids"},
            "team_ids": sorted(t.id for t in call.teams),
        }
    )


@router.post(
    "/calls",
    response_model=CallRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": CallRead, "description": "already known (same external_id)"}},
)
def create_call(
    data: CallCreate, actor: ActorDep, session: SessionDep, response: Response
) -> CallRead:
    """Create a call with its segments; sending the same external_id again returns the
    existing call with 200 (idempotent ingest)."""
    call, created = CallService(session).create(actor, actor.org_id, data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return call_read(call)


@router.get("/calls/{call_id}", response_model=CallRead)
def get_call(call_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> CallRead:
    return call_read(CallService(session).get(actor, call_id))
