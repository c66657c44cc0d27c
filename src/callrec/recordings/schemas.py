"""API shapes for recordings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from callrec.models import RecordingState


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
    consent_evidence: dict[str, Any] | None
    events: list[dict[str, Any]]  # e.g. {"type": "dtmf", "leg", "digit", "at_ms", "duration_ms"}
