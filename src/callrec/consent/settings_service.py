"""The org's ask-to-record settings: the prompt (built-in or the org's own text, in a chosen
voice), how long to wait for the digit, and what no answer means. Never commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.rules import Actor, can_view_org_settings
from callrec.audit.service import AuditAction, AuditLog
from callrec.audit.service import changes as field_changes
from callrec.consent import speech, tts
from callrec.consent.repository import ConsentSettingsRepository
from callrec.consent.rules import can_change_consent_settings
from callrec.consent.schemas import ConsentSettingsRead, ConsentSettingsUpdate
from callrec.kit.errors import Unprocessable
from callrec.kit.settings import Settings
from callrec.models import ConsentSettings
from callrec.storage import BlobStore

# The compliance beep is one fixed tone (the proxy's defaults), shown so the UI can describe it.
BEEP_TONE = {"tone_hz": 1400.0, "duration_ms": 200}


def prompt_voice(row: ConsentSettings) -> str:
    return row.prompt_voice or speech.DEFAULT_VOICE


def prompt_text(row: ConsentSettings) -> str:
    """What callers hear: the org's own text, else the built-in prompt in the voice's language
    (English when the voice is unknown now, e.g. after an engine upgrade dropped it)."""
    if row.ask_prompt_text:
        return row.ask_prompt_text
    language = _language(prompt_voice(row)) or "en"
    return speech.default_prompt(language) or speech.ASK_PROMPTS["en"]


def prompt_request(row: ConsentSettings) -> tts.TtsRequest:
    return tts.TtsRequest(
        text=prompt_text(row),
        voice=prompt_voice(row),
        pitch=speech.PROMPT_PITCH,
        rate=speech.PROMPT_RATE,
        gender=speech.PROMPT_GENDER,
    )


def consent_settings_read(row: ConsentSettings) -> ConsentSettingsRead:
    return ConsentSettingsRead(
        ask_prompt_text=row.ask_prompt_text,
        prompt_voice=prompt_voice(row),
        effective_prompt_text=prompt_text(row),
        ask_timeout_s=row.ask_timeout_s,
        no_answer=row.no_answer,
        beep=BEEP_TONE,
    )


def _language(voice_id: str) -> str | None:
    for voice in speech.voices():
        if voice.id == voice_id:
            return voice.language
    return None


class ConsentSettingsService:
    def __init__(self, session: Session, settings: Settings, blobs: BlobStore) -> None:
        self.session = session
        self.settings = settings
        self.blobs = blobs
        self.repo = ConsentSettingsRepository(session)

    def read(self, actor: Actor) -> ConsentSettingsRead:
        require(can_view_org_settings(actor, actor.org_id))
        return consent_settings_read(self.repo.effective(actor.org_id))

    def update(self, actor: Actor, data: ConsentSettingsUpdate) -> ConsentSettingsRead:
        require(can_change_consent_settings(actor, actor.org_id))
        changes = data.model_dump(exclude_unset=True)
        for field in ("prompt_voice", "ask_timeout_s", "no_answer"):
            if field in changes and changes[field] is None:
                raise Unprocessable(
                    f"{field} cannot be null; omit it to keep its value", details={"field": field}
                )
        text = changes.get("ask_prompt_text")
        if text is not None:
            speech.check_text(text, self.settings.tts_max_chars, field="ask_prompt_text")
        row = self.repo.get_or_create(actor.org_id)
        before = consent_settings_read(row).model_dump(mode="json")
        voice = changes.get("prompt_voice", prompt_voice(row))
        language = speech.find_voice(voice).language
        keeps_text = "ask_prompt_text" not in changes and row.ask_prompt_text
        if not (text or keeps_text) and speech.default_prompt(language) is None:
            raise Unprocessable(
                f"callrec has no built-in prompt in {language!r}: set ask_prompt_text too "
                f"(built-in: {', '.join(sorted(speech.ASK_PROMPTS))})",
                details={"field": "ask_prompt_text", "language": language},
            )
        for field, value in changes.items():
            setattr(row, field, value)
        row.updated_at = datetime.now(UTC)
        # Rendered now: a text the engine cannot speak is refused here, not found out on a
        # call, and the first call finds the prompt in the cache.
        speech.cached_prompt(self.blobs, prompt_request(row), self.settings.tts_max_chars)
        self.session.flush()
        after = consent_settings_read(row)
        diff = field_changes(before, after.model_dump(mode="json"))
        if diff:
            AuditLog.of(self.session).append(
                AuditAction.SETTINGS_CHANGED, org_id=actor.org_id, actor_id=actor.user_id,
                subject=f"consent_settings:{actor.org_id}",
                details={"level": "consent", "changes": diff},
            )  # fmt: skip
        return after

    def effective(self, org_id: uuid.UUID) -> ConsentSettings:
        return self.repo.effective(org_id)
