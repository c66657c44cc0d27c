"""The consent context's tables: an org's announcement library and its consent settings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callrec.models.base import Base, IdMixin, TimestampMixin, str_enum


class AnnouncementKind(StrEnum):
    MP3 = "mp3"
    TTS = "tts"


class VoiceGender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class NoAnswer(StrEnum):
    """What an unanswered ask-to-record prompt means."""

    RECORD = "record"
    DO_NOT_RECORD = "do_not_record"


DEFAULT_ASK_TIMEOUT_S = 10


def _now() -> datetime:
    return datetime.now(UTC)


class Announcement(IdMixin, TimestampMixin, Base):
    """A message played to callers, stored ready to play (normalised, 8 and 16 kHz WAV).

    A row exists only once its audio is stored: there is no "rendering" state to wait for."""

    __tablename__ = "announcements"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AnnouncementKind] = mapped_column(str_enum(AnnouncementKind))
    # Text-to-speech parameters (kind tts only): changing any of them renders the audio again.
    tts_text: Mapped[str | None] = mapped_column(Text, default=None)
    tts_voice: Mapped[str | None] = mapped_column(String(64), default=None)
    tts_pitch: Mapped[int | None] = mapped_column(default=None)
    tts_rate: Mapped[int | None] = mapped_column(default=None)
    tts_gender: Mapped[VoiceGender | None] = mapped_column(str_enum(VoiceGender), default=None)
    # Blob keys; each render or upload gets fresh keys, so a rolled-back change never
    # overwrites the audio the committed row still names.
    audio_8k_key: Mapped[str] = mapped_column(String(1024))
    audio_16k_key: Mapped[str] = mapped_column(String(1024))
    original_key: Mapped[str | None] = mapped_column(String(1024), default=None)  # MP3 upload
    original_filename: Mapped[str | None] = mapped_column(String(255), default=None)
    duration_ms: Mapped[int]
    # SHA-256 of the source: the uploaded MP3's bytes, or the rendered 16 kHz PCM.
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=_now)


class ConsentSettings(Base):
    """An org's ask-to-record settings; an org without a row uses the defaults."""

    __tablename__ = "consent_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    # None: the built-in prompt in the voice's language.
    ask_prompt_text: Mapped[str | None] = mapped_column(Text, default=None)
    prompt_voice: Mapped[str | None] = mapped_column(String(64), default=None)  # None: English
    ask_timeout_s: Mapped[int] = mapped_column(default=DEFAULT_ASK_TIMEOUT_S)
    no_answer: Mapped[NoAnswer] = mapped_column(str_enum(NoAnswer), default=NoAnswer.RECORD)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
