"""Recordings: one per segment, with a state machine timed at every transition."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from callrec.models.base import Base, IdMixin, TimestampMixin, str_enum


class RecordingState(StrEnum):
    CAPTURING = "capturing"
    CAPTURED = "captured"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Recording(IdMixin, TimestampMixin, Base):
    __tablename__ = "recordings"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    # One recording per segment, as the brief says; the constraint makes a second one impossible.
    segment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[RecordingState] = mapped_column(
        str_enum(RecordingState), default=RecordingState.CAPTURING, index=True
    )
    capturing_at: Mapped[datetime | None] = mapped_column(default=None)
    captured_at: Mapped[datetime | None] = mapped_column(default=None)
    processing_at: Mapped[datetime | None] = mapped_column(default=None)
    ready_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    # A worker holds a lease while processing; an expired lease means it died (kill -9) and the
    # recovery job sends the recording again.
    lease_until: Mapped[datetime | None] = mapped_column(default=None)

    source_format: Mapped[str | None] = mapped_column(String(16), default=None)
    source_key: Mapped[str | None] = mapped_column(String(1024), default=None)
    source_sha256: Mapped[str | None] = mapped_column(String(64), default=None)

    format: Mapped[str | None] = mapped_column(String(16), default=None)
    sample_rate: Mapped[int | None] = mapped_column(default=None)
    channels: Mapped[int | None] = mapped_column(default=None)
    duration_ms: Mapped[int | None] = mapped_column(default=None)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    storage_key: Mapped[str | None] = mapped_column(String(1024), default=None)
    peaks_key: Mapped[str | None] = mapped_column(String(1024), default=None)
    stereo_key: Mapped[str | None] = mapped_column(String(1024), default=None)

    decision_trace: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    consent_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # In-call events kept beside the audio, e.g. RFC 4733 digits: {"type", "digit", "at_ms", …}
    events: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    quality_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    talk_seconds: Mapped[float | None] = mapped_column(default=None)
    sla_deadline: Mapped[datetime | None] = mapped_column(default=None, index=True)
    sla_breached: Mapped[bool] = mapped_column(default=False)
