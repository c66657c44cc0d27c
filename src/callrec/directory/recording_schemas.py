"""API shapes for recording settings, decisions and what-if questions."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, model_validator

from callrec.directory.schemas import Aor, Extension, Strict
from callrec.policy.types import (
    BEEP_MAX_INTERVAL_S,
    BEEP_MIN_INTERVAL_S,
    AnnouncementMode,
    BeepMode,
    Direction,
    Level,
    OutgoingMode,
    Reason,
    Toggle,
)

BeepInterval = Field(ge=BEEP_MIN_INTERVAL_S, le=BEEP_MAX_INTERVAL_S)


class SettingsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    level: Level
    incoming: Toggle
    outgoing: Toggle
    outgoing_mode: OutgoingMode
    beep: BeepMode
    beep_interval_s: int | None
    announcement: AnnouncementMode
    announcement_id: uuid.UUID | None


class SettingsUpdate(Strict):
    """A partial update: omitted fields keep their value."""

    incoming: Toggle | None = None
    outgoing: Toggle | None = None
    outgoing_mode: OutgoingMode | None = None
    beep: BeepMode | None = None
    beep_interval_s: int | None = Field(
        default=None,
        ge=BEEP_MIN_INTERVAL_S,
        le=BEEP_MAX_INTERVAL_S,
        description=f"seconds between beeps, {BEEP_MIN_INTERVAL_S}-{BEEP_MAX_INTERVAL_S}",
    )
    announcement: AnnouncementMode | None = None
    announcement_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _no_null_modes(self) -> SettingsUpdate:
        # Omitting a field keeps it; null is only meaningful for the interval and the id.
        nulls = [
            f
            for f in _REQUIRED_WHEN_SENT
            if f in self.model_fields_set and getattr(self, f) is None
        ]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null; omit a field to keep its value")
        return self


_REQUIRED_WHEN_SENT = ("incoming", "outgoing", "outgoing_mode", "beep", "announcement")


class Target(Strict):
    """Which device or user a call reached; all empty means it reached neither (trunk, IVR)."""

    direction: Direction
    device_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    aor: Aor | None = None
    extension: Extension | None = None


class DecisionRequest(Target):
    pass


class WhatIfRequest(Target):
    """Stored settings with hypothetical changes laid over them. A level given here that the
    target lacks (e.g. ``user`` with no user_id) is a wholly hypothetical level."""

    has_licence: bool | None = None
    org: SettingsUpdate | None = None
    team: SettingsUpdate | None = None
    user: SettingsUpdate | None = None
    device: SettingsUpdate | None = None


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    aspect: str
    level: Level
    ref: str | None
    value: str
    decisive: bool


class DecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    record: bool
    reason: Reason
    decided_by: Level
    direction: Direction
    outgoing_mode: OutgoingMode | None
    beep_interval_s: int | None
    announcement_id: str | None
    explanation: str
    trace: list[StepRead]
