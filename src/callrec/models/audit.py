"""The audit log: one append-only table of hash-chained events (see ``callrec.audit``).

No foreign keys on purpose: an event must outlive the user, call or org it names, and an
``ON DELETE SET NULL`` or ``CASCADE`` would edit or remove rows of the chain behind its back.
``seq`` is assigned by the appender under the chain lock (previous + 1, never a database
sequence, whose rolled-back values would leave gaps that look like deleted events).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from callrec.models.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        # Every query pages newest-first by seq within one of these filters (keyset).
        Index("ix_audit_events_org_id_seq", "org_id", "seq"),
        Index("ix_audit_events_actor_id_seq", "actor_id", "seq"),
        Index("ix_audit_events_subject_seq", "subject", "seq"),
        Index("ix_audit_events_call_id_seq", "call_id", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    org_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # A plain string, not an enum column: verifying old events must never depend on the
    # current code still knowing every action name.
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(200), default=None)
    call_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client: Mapped[str | None] = mapped_column(String(255), default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
