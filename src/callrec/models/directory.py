"""Directory tables: orgs (tenants), teams, users, devices and team links."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callrec.access.rules import ManagementScope, PlaybackScope, Role
from callrec.models.base import Base, IdMixin, TimestampMixin, str_enum
from callrec.models.settings import RecordingSettingsMixin
from callrec.policy.types import AnnouncementMode, BeepMode, OutgoingMode, Toggle

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)

team_managers = Table(
    "team_managers",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Org(IdMixin, TimestampMixin, RecordingSettingsMixin, Base):
    __tablename__ = "orgs"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    licences_purchased: Mapped[int] = mapped_column(default=0)
    # Also deliver a two-channel file (caller left, callee right) beside the mono recording.
    dual_channel: Mapped[bool] = mapped_column(default=False, server_default=false())

    # The org is the root of the hierarchy: it never inherits.
    rec_incoming: Mapped[Toggle] = mapped_column(str_enum(Toggle), default=Toggle.OFF)
    rec_outgoing: Mapped[Toggle] = mapped_column(str_enum(Toggle), default=Toggle.OFF)
    rec_outgoing_mode: Mapped[OutgoingMode] = mapped_column(
        str_enum(OutgoingMode), default=OutgoingMode.RECORD_ALL
    )
    rec_beep: Mapped[BeepMode] = mapped_column(str_enum(BeepMode), default=BeepMode.OFF)
    rec_announcement: Mapped[AnnouncementMode] = mapped_column(
        str_enum(AnnouncementMode), default=AnnouncementMode.NONE
    )


class Team(IdMixin, TimestampMixin, RecordingSettingsMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class User(IdMixin, TimestampMixin, RecordingSettingsMixin, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "extension"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    extension: Mapped[str | None] = mapped_column(String(32), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.USER)
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    has_licence: Mapped[bool] = mapped_column(default=False)
    management_scope: Mapped[ManagementScope] = mapped_column(
        str_enum(ManagementScope), default=ManagementScope.ME
    )
    playback_scope: Mapped[PlaybackScope] = mapped_column(
        str_enum(PlaybackScope), default=PlaybackScope.OWN
    )
    primary_team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None, index=True
    )

    member_teams: Mapped[list[Team]] = relationship(secondary=team_members, lazy="raise")
    managed_teams: Mapped[list[Team]] = relationship(secondary=team_managers, lazy="raise")


class Device(IdMixin, TimestampMixin, RecordingSettingsMixin, Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("org_id", "aor"), UniqueConstraint("org_id", "extension"))

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    sip_username: Mapped[str] = mapped_column(String(128))
    aor: Mapped[str] = mapped_column(String(320))
    extension: Mapped[str | None] = mapped_column(String(32), default=None)
