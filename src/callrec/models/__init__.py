"""Every table, imported here so Alembic's autogenerate and ``alembic check`` see them all."""

from callrec.models.audit import AuditEvent
from callrec.models.auth import ApiToken, AuthSession
from callrec.models.base import Base
from callrec.models.calls import (
    Call,
    CallDirection,
    Participant,
    Segment,
    SegmentReason,
    call_teams,
)
from callrec.models.consent import (
    Announcement,
    AnnouncementKind,
    ConsentSettings,
    NoAnswer,
    VoiceGender,
)
from callrec.models.directory import Device, Org, Team, User, team_managers, team_members
from callrec.models.recordings import Recording, RecordingState
from callrec.models.reports import SavedReportFilter

__all__ = [
    "Announcement",
    "AnnouncementKind",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Call",
    "CallDirection",
    "ConsentSettings",
    "Device",
    "NoAnswer",
    "Org",
    "Participant",
    "Recording",
    "RecordingState",
    "SavedReportFilter",
    "Segment",
    "SegmentReason",
    "Team",
    "User",
    "VoiceGender",
    "call_teams",
    "team_managers",
    "team_members",
]
