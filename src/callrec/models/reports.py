"""Saved call-list report filters: a user's named filter, optionally shared with one team."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callrec.models.base import Base, IdMixin, TimestampMixin


class SavedReportFilter(IdMixin, TimestampMixin, Base):
    __tablename__ = "saved_report_filters"
    # One name per owner: the list in the UI is keyed by it.
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # The filter as the API takes it (``calls.report_schemas.ReportFilters``, JSON mode); relative
    # parts such as the "today" quick filter are resolved each time the filter runs.
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    shared_team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None, index=True
    )
    updated_at: Mapped[datetime]
