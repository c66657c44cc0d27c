"""API shapes for creating and reading calls."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from callrec.directory.schemas import Extension, Strict
from callrec.models import CallDirection, SegmentReason

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Number = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]


class SegmentIn(Strict):
    sequence: int = Field(ge=1, le=10_000)
    user_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    extension: Extension | None = Field(
        default=None, description="resolve the device (else the user) by extension"
    )
    reason: SegmentReason = SegmentReason.ANSWERED
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None


class ParticipantIn(Strict):
    user_id: uuid.UUID | None = None
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    address: Annotated[str, StringConstraints(max_length=320)] = ""
    joined_at: AwareDatetime
    left_at: AwareDatetime | None = None


class CallCreate(Strict):
    external_id: ExternalId
    direction: CallDirection
    from_number: Number = ""
    to_number: Number = ""
    started_at: AwareDatetime
    answered_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    team_ids: list[uuid.UUID] = Field(default_factory=list)
    segments: list[SegmentIn] = Field(min_length=1, max_length=1000)
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> CallCreate:
        sequences = [s.sequence for s in self.segments]
        if len(set(sequences)) != len(sequences):
            raise ValueError("segment sequences must be unique")
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sequence: int
    user_id: uuid.UUID | None
    device_id: uuid.UUID | None
    reason: SegmentReason
    started_at: datetime
    ended_at: datetime | None


class ParticipantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    address: str
    joined_at: datetime
    left_at: datetime | None


class CallRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    external_id: str
    direction: CallDirection
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    team_ids: list[uuid.UUID]
    segments: list[SegmentRead]
    participants: list[ParticipantRead]
