"""Call history: a call, its segments (one per user leg: answered, transferred, conference join),
its participants, and the teams it is tagged with."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callrec.models.base import Base, IdMixin, TimestampMixin, str_enum
from callrec.models.directory import Team


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class SegmentReason(StrEnum):
    ANSWERED = "answered"
    TRANSFERRED = "transferred"
    CONFERENCE_JOIN = "conference_join"


call_teams = Table(
    "call_teams",
    Base.metadata,
    Column("call_id", ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Call(IdMixin, TimestampMixin, Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("org_id", "external_id"),
        # Call-list reports (calls/report.py): every sort is a keyset walk of one of these,
        # the id breaking ties; the org leads because every report is one org's.
        Index("ix_calls_report_started", "org_id", "started_at", "id"),
        Index("ix_calls_report_from", "org_id", "from_number", "id"),
        Index("ix_calls_report_to", "org_id", "to_number", "id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    # The source's id for the call: SIP Call-ID, SIPREC session id, or the PBX's own id.
    external_id: Mapped[str] = mapped_column(String(255))
    direction: Mapped[CallDirection] = mapped_column(str_enum(CallDirection))
    from_number: Mapped[str] = mapped_column(String(128), default="")
    to_number: Mapped[str] = mapped_column(String(128), default="")
    started_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # The SIPREC session's rs-metadata as received (RFC 7865), kept with the call.
    siprec_metadata: Mapped[str | None] = mapped_column(Text, default=None)

    teams: Mapped[list[Team]] = relationship(secondary=call_teams, lazy="raise")
    segments: Mapped[list[Segment]] = relationship(
        back_populates="call", lazy="raise", order_by="Segment.sequence"
    )
    participants: Mapped[list[Participant]] = relationship(
        back_populates="call", lazy="raise", order_by="Participant.joined_at"
    )


class Segment(IdMixin, TimestampMixin, Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("call_id", "sequence"),)

    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    device_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), default=None
    )
    reason: Mapped[SegmentReason] = mapped_column(
        str_enum(SegmentReason), default=SegmentReason.ANSWERED
    )
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)

    call: Mapped[Call] = relationship(back_populates="segments", lazy="raise")


class Participant(IdMixin, Base):
    __tablename__ = "participants"
    # The "own calls" probe of a report row (visibility.py) reads only this index.
    __table_args__ = (Index("ix_participants_report_call_user", "call_id", "user_id"),)

    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(320), default="")  # AOR or number
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None] = mapped_column(default=None)

    call: Mapped[Call] = relationship(back_populates="participants", lazy="raise")
