"""HTTP adapters for recording settings (four levels), decisions and what-if."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from callrec.access.deps import ActorDep
from callrec.directory.recording_schemas import (
    DecisionRead,
    DecisionRequest,
    SettingsRead,
    SettingsUpdate,
    StepRead,
    WhatIfRequest,
)
from callrec.directory.recording_service import DecisionService, SettingsService
from callrec.kit.deps import SessionDep
from callrec.policy import Decision, Level

router = APIRouter(tags=["recording settings"])


def decision_read(decision: Decision) -> DecisionRead:
    return DecisionRead(
        record=decision.record,
        reason=decision.reason,
        decided_by=decision.decided_by,
        direction=decision.direction,
        outgoing_mode=decision.outgoing_mode,
        beep_interval_s=decision.beep_interval_s,
        announcement_id=decision.announcement_id,
        explanation=decision.explain(),
        trace=[StepRead.model_validate(step) for step in decision.trace],
    )


@router.get("/org/settings", response_model=SettingsRead)
def get_org_settings(actor: ActorDep, session: SessionDep) -> SettingsRead:
    return SettingsService(session).read(actor, Level.ORG, None)


@router.patch("/org/settings", response_model=SettingsRead)
def update_org_settings(data: SettingsUpdate, actor: ActorDep, session: SessionDep) -> SettingsRead:
    return SettingsService(session).update(actor, Level.ORG, None, data)


@router.get("/teams/{team_id}/settings", response_model=SettingsRead)
def get_team_settings(team_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> SettingsRead:
    return SettingsService(session).read(actor, Level.TEAM, team_id)


@router.patch("/teams/{team_id}/settings", response_model=SettingsRead)
def update_team_settings(
    team_id: uuid.UUID, data: SettingsUpdate, actor: ActorDep, session: SessionDep
) -> SettingsRead:
    return SettingsService(session).update(actor, Level.TEAM, team_id, data)


@router.get("/users/{user_id}/settings", response_model=SettingsRead)
def get_user_settings(user_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> SettingsRead:
    return SettingsService(session).read(actor, Level.USER, user_id)


@router.patch("/users/{user_id}/settings", response_model=SettingsRead)
def update_user_settings(
    user_id: uuid.UUID, data: SettingsUpdate, actor: ActorDep, session: SessionDep
) -> SettingsRead:
    return SettingsService(session).update(actor, Level.USER, user_id, data)


@router.get("/devices/{device_id}/settings", response_model=SettingsRead)
def get_device_settings(device_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> SettingsRead:
    return SettingsService(session).read(actor, Level.DEVICE, device_id)


@router.patch("/devices/{device_id}/settings", response_model=SettingsRead)
def update_device_settings(
    device_id: uuid.UUID, data: SettingsUpdate, actor: ActorDep, session: SessionDep
) -> SettingsRead:
    return SettingsService(session).update(actor, Level.DEVICE, device_id, data)


@router.post("/policy/decision", response_model=DecisionRead)
def decision(data: DecisionRequest, actor: ActorDep, session: SessionDep) -> DecisionRead:
    """Would a call that reached this device or user be recorded, and why."""
    return decision_read(DecisionService(session).decide(actor, data))


@router.post("/policy/what-if", response_model=DecisionRead)
def what_if(data: WhatIfRequest, actor: ActorDep, session: SessionDep) -> DecisionRead:
    """The same question with hypothetical settings laid over the stored ones."""
    return decision_read(DecisionService(session).what_if(actor, data))
