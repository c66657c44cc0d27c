"""API shapes for announcements, text-to-speech and the org's consent settings. The TTS text
limit is a business rule (configurable, answered with the count and the limit), so it is checked
by the service, not here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from callrec.directory.schemas import Name, Strict
from callrec.models import AnnouncementKind, NoAnswer, VoiceGender

# A sanity bound on the payload only; the real limit is CALLREC_TTS_MAX_CHARS (at most 100,000).
Text = Annotated[str, StringConstraints(max_length=200_000)]
VoiceId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Level09 = Annotated[int, Field(ge=0, le=9)]
SampleRate = Literal[8000, 16000]
ASK_TIMEOUT_MIN_S, ASK_TIMEOUT_MAX_S = 2, 60


class TtsParams(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    text: str
    voice: str
    pitch: int
    rate: int
    gender: VoiceGender


class AnnouncementRead(BaseModel):
    id: uuid.UUID
    name: str
    kind: AnnouncementKind
    tts: TtsParams | None = Field(description="the text-to-speech parameters (kind tts)")
    original_filename: str | None = Field(description="the uploaded file's name (kind mp3)")
    duration_ms: int
    sha256: str = Field(description="SHA-256 of the uploaded MP3, or of the rendered 16 kHz PCM")
    audio: dict[str, str] = Field(description="sample rate → URL of the WAV")
    created_at: datetime
    updated_at: datetime


class SpeechFields(Strict):
    text: Text
    voice: VoiceId = "en-us"
    pitch: Level09 = 5
    rate: Level09 = 4
    gender: VoiceGender = VoiceGender.FEMALE


class TtsAnnouncementCreate(SpeechFields):
    name: Name


class AnnouncementUpdate(Strict):
    """Partial. Any text-to-speech field renders the audio again (kind tts only)."""

    name: Name | None = None
    text: Text | None = None
    voice: VoiceId | None = None
    pitch: Level09 | None = None
    rate: Level09 | None = None
    gender: VoiceGender | None = None


class PreviewRequest(SpeechFields):
    sample_rate: SampleRate = 16000


class VoiceRead(BaseModel):
    id: str
    name: str
    language: str


class ConsentSettingsRead(BaseModel):
    ask_prompt_text: str | None = Field(description="the org's own prompt; null: the built-in one")
    prompt_voice: str
    effective_prompt_text: str = Field(description="what callers hear")
    ask_timeout_s: int
    no_answer: NoAnswer
    beep: dict[str, int | float] = Field(description="the compliance beep tone (fixed)")


class ConsentSettingsUpdate(Strict):
    ask_prompt_text: Text | None = None
    prompt_voice: VoiceId | None = None
    ask_timeout_s: int | None = Field(default=None, ge=ASK_TIMEOUT_MIN_S, le=ASK_TIMEOUT_MAX_S)
    no_answer: NoAnswer | None = None
