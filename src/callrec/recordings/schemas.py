"""API shapes for recordings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callrec.models import RecordingState


class AnnouncementEvidence(BaseModel):
    """The announcement the caller heard before the call was bridged."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID | None = None
    name: str | None = None
    played: Literal["complete", "cut"] = Field(
        description="complete: to the end; cut: the caller hung up or the call was bridged first"
    )
    played_ms: int | None = None


class AskEvidence(BaseModel):
    """The caller's answer to the ask-to-record prompt (outgoing calls in mode ask)."""

    model_config = ConfigDict(extra="allow")

    answer: Literal["record", "do_not_record", "no_answer"]
    digit: str | None = None
    via: Literal["rfc4733", "info"] | None = None
    answered_at: datetime | None = None


class ConsentEvidence(BaseModel):
    """What the parties were told, written by the recording proxy (docs/consent.md)."""

    model_config = ConfigDict(extra="allow")

    announcement: AnnouncementEvidence | None = None
    ask: AskEvidence | None = None
    beep_interval_s: int | None = None


class RecordingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    call_id: uuid.UUID
    segment_id: uuid.UUID
    state: RecordingState
    capturing_at: datetime | None
    captured_at: datetime | None
    processing_at: datetime | None
    ready_at: datetime | None
    failed_at: datetime | None
    failure_reason: str | None
    source_format: str | None
    format: str | None
    sample_rate: int | None
    channels: int | None
    duration_ms: int | None
    size_bytes: int | None
    sha256: str | None
    quality_flags: list[str]
    talk_seconds: float | None
    sla_deadline: datetime | None
    sla_breached: bool
    decision_trace: dict[str, Any] | None
    consent_evidence: ConsentEvidence | None = Field(
        description="announcement played, ask-to-record answer, beep interval; null when the "
        "call did not pass through the recording proxy"
    )
    events: list[dict[str, Any]]  # e.g. {"type": "dtmf", "leg", "digit", "at_ms", "duration_ms"}
