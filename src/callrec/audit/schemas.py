"""API shapes for the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from callrec.audit.chain import BreakKind


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    occurred_at: datetime
    org_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    action: str
    subject: str | None
    call_id: uuid.UUID | None
    details: dict[str, Any]
    client: str | None
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    events: list[AuditEventRead]
    # Pass as ``cursor`` for the next (older) page; null on the last page.
    next_cursor: str | None


class BrokenLinkRead(BaseModel):
    seq: int
    kind: BreakKind
    message: str


class VerificationRead(BaseModel):
    ok: bool
    count: int
    head_seq: int | None
    head_hash: str | None
    broken: BrokenLinkRead | None
