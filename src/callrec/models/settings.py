"""The recording-settings columns every level (org, team, user, device) carries.

Stored on the level's own row: the policy reads one row per level, with no polymorphic joins.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from callrec.models.base import str_enum
from callrec.policy.types import AnnouncementMode, BeepMode, LevelSettings, OutgoingMode, Toggle


class RecordingSettingsMixin:
    rec_incoming: Mapped[Toggle] = mapped_column(str_enum(Toggle), default=Toggle.INHERIT)
    rec_outgoing: Mapped[Toggle] = mapped_column(str_enum(Toggle), default=Toggle.INHERIT)
    rec_outgoing_mode: Mapped[OutgoingMode] = mapped_column(
        str_enum(OutgoingMode), default=OutgoingMode.INHERIT
    )
    rec_beep: Mapped[BeepMode] = mapped_column(str_enum(BeepMode), default=BeepMode.INHERIT)
    rec_beep_interval_s: Mapped[int | None] = mapped_column(default=None)
    rec_announcement: Mapped[AnnouncementMode] = mapped_column(
        str_enum(AnnouncementMode), default=AnnouncementMode.INHERIT
    )
    # An announcement of the same org (checked by the settings service). No ON DELETE action:
    # deleting an assigned announcement is refused (409) rather than silently unassigned.
    # use_alter: orgs and announcements reference each other, so this FK is made after both.
    rec_announcement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("announcements.id", use_alter=True), default=None
    )

    def level_settings(self, ref: uuid.UUID) -> LevelSettings:
        return LevelSettings(
            incoming=self.rec_incoming,
            outgoing=self.rec_outgoing,
            outgoing_mode=self.rec_outgoing_mode,
            beep=self.rec_beep,
            beep_interval_s=self.rec_beep_interval_s,
            announcement=self.rec_announcement,
            announcement_id=str(self.rec_announcement_id) if self.rec_announcement_id else None,
            ref=str(ref),
        )
