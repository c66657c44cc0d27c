"""The announcement library: MP3 uploads and text-to-speech messages, stored ready to play.

Every write stores the audio under fresh blob keys before the row points at them, so a change
that rolls back never touches the audio the committed row names; the keys a committed change
leaves behind are deleted by a job sent after the commit. Never commits.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.rules import Actor
from callrec.consent import speech, tts
from callrec.consent.errors import AudioRejected, PayloadTooLarge
from callrec.consent.repository import AnnouncementRepository
from callrec.consent.rules import can_manage_announcements, can_view_announcements
from callrec.consent.schemas import AnnouncementUpdate, SpeechFields, TtsAnnouncementCreate
from callrec.kit.db import QUEUE_INFO_KEY
from callrec.kit.errors import Conflict, Unprocessable
from callrec.kit.ids import new_id
from callrec.kit.settings import Settings
from callrec.media.announce import (
    MAX_MP3_BYTES,
    Mp3Rejected,
    Prepared,
    decode_mp3,
    prepare,
    wav_bytes,
)
from callrec.models import Announcement, AnnouncementKind, VoiceGender
from callrec.storage import BlobStore
from callrec.worker.enqueue import enqueue

PURGE_JOB = "consent.purge_audio"
_SPEECH_FIELDS = ("text", "voice", "pitch", "rate", "gender")


@dataclass(frozen=True, slots=True)
class _Stored:
    audio_8k_key: str
    audio_16k_key: str
    original_key: str | None


def tts_request(fields: SpeechFields) -> tts.TtsRequest:
    return tts.TtsRequest(
        text=fields.text,
        voice=fields.voice,
        pitch=fields.pitch,
        rate=fields.rate,
        gender="male" if fields.gender is VoiceGender.MALE else "female",
    )


def audio_keys(row: Announcement) -> tuple[str, ...]:
    return tuple(k for k in (row.audio_8k_key, row.audio_16k_key, row.original_key) if k)


class AnnouncementService:
    def __init__(self, session: Session, blobs: BlobStore, settings: Settings) -> None:
        self.session = session
        self.blobs = blobs
        self.settings = settings
        self.repo = AnnouncementRepository(session)

    # --- reads ---------------------------------------------------------------------------------

    def list(self, actor: Actor) -> Sequence[Announcement]:
        require(can_view_announcements(actor, actor.org_id))
        return self.repo.list_by_name(actor.org_id)

    def get(self, actor: Actor, announcement_id: uuid.UUID) -> Announcement:
        require(can_view_announcements(actor, actor.org_id))
        return self.repo.get_in_org(actor.org_id, announcement_id)

    def audio(self, actor: Actor, announcement_id: uuid.UUID, rate: int) -> bytes:
        """The announcement as a mono 16-bit WAV at 8000 or 16000 Hz."""
        row = self.get(actor, announcement_id)
        return self.blobs.get_bytes(row.audio_8k_key if rate == 8000 else row.audio_16k_key)

    # --- writes --------------------------------------------------------------------------------

    def create_mp3(
        self,
        org_id: uuid.UUID,
        name: str,
        data: bytes,
        *,
        filename: str | None = None,
        actor: Actor | None = None,
    ) -> Announcement:
        """Validate, normalise and store an uploaded MP3 (8 and 16 kHz WAV, and the original)."""
        if actor is not None:
            require(can_manage_announcements(actor, org_id))
        self._check_name(org_id, name)
        prepared = _prepare_mp3(data)
        announcement_id = new_id()
        stored = self._store(org_id, announcement_id, prepared, original=data)
        row = Announcement(
            id=announcement_id,
            org_id=org_id,
            name=name,
            kind=AnnouncementKind.MP3,
            original_filename=filename,
            duration_ms=prepared.duration_ms,
            sha256=hashlib.sha256(data).hexdigest(),
            **_keys(stored),
        )
        return self.repo.add(row)

    def create_tts(
        self, org_id: uuid.UUID, data: TtsAnnouncementCreate, *, actor: Actor | None = None
    ) -> Announcement:
        if actor is not None:
            require(can_manage_announcements(actor, org_id))
        self._check_name(org_id, data.name)
        request = tts_request(data)
        prepared = speech.synthesise(request, self.settings.tts_max_chars)
        announcement_id = new_id()
        stored = self._store(org_id, announcement_id, prepared)
        row = Announcement(
            id=announcement_id,
            org_id=org_id,
            name=data.name,
            kind=AnnouncementKind.TTS,
            tts_text=data.text,
            tts_voice=data.voice,
            tts_pitch=data.pitch,
            tts_rate=data.rate,
            tts_gender=data.gender,
            duration_ms=prepared.duration_ms,
            sha256=hashlib.sha256(prepared.pcm16k).hexdigest(),
            **_keys(stored),
        )
        return self.repo.add(row)

    def update(
        self, actor: Actor, announcement_id: uuid.UUID, data: AnnouncementUpdate
    ) -> Announcement:
        require(can_manage_announcements(actor, actor.org_id))
        row = self.repo.get_in_org(actor.org_id, announcement_id)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        nulls = sorted(k for k, v in changes.items() if v is None)
        if nulls:
            raise Unprocessable(
                f"{', '.join(nulls)} cannot be null; omit a field to keep it",
                details={"fields": nulls},
            )
        if "name" in changes and changes["name"] != row.name:
            self._check_name(row.org_id, changes["name"], other_than=row.id)
            row.name = changes["name"]
        speech_changes = {k: v for k, v in changes.items() if k in _SPEECH_FIELDS}
        if speech_changes:
            self._render_again(row, speech_changes)
        row.updated_at = datetime.now(UTC)
        self.session.flush()
        return row

    def delete(self, actor: Actor, announcement_id: uuid.UUID) -> None:
        """Refused (409) while any settings level names it: a caller must never silently stop
        hearing a notice an admin chose; unassign it first."""
        require(can_manage_announcements(actor, actor.org_id))
        row = self.repo.get_in_org(actor.org_id, announcement_id)
        assigned = self.repo.assignments(row.id)
        if assigned:
            raise Conflict(
                f"announcement {row.name!r} is assigned in {len(assigned)} place(s); "
                "unassign it first",
                details={"assigned_to": assigned},
            )
        keys = audio_keys(row)
        self.repo.delete(row)
        self._purge_after_commit(keys)

    # --- helpers -------------------------------------------------------------------------------

    def _render_again(self, row: Announcement, changes: dict[str, Any]) -> None:
        if row.kind is not AnnouncementKind.TTS:
            raise Unprocessable(
                "an MP3 announcement has no text-to-speech parameters; upload a new file",
                details={"fields": sorted(changes)},
            )
        current = SpeechFields(
            text=row.tts_text or "",
            voice=row.tts_voice or speech.DEFAULT_VOICE,
            pitch=row.tts_pitch if row.tts_pitch is not None else 5,
            rate=row.tts_rate if row.tts_rate is not None else 4,
            gender=row.tts_gender or VoiceGender.FEMALE,
        )
        wanted = current.model_copy(update=changes)
        if wanted == current:
            return
        prepared = speech.synthesise(tts_request(wanted), self.settings.tts_max_chars)
        old = audio_keys(row)
        stored = self._store(row.org_id, row.id, prepared)
        row.tts_text, row.tts_voice = wanted.text, wanted.voice
        row.tts_pitch, row.tts_rate, row.tts_gender = wanted.pitch, wanted.rate, wanted.gender
        row.audio_8k_key, row.audio_16k_key = stored.audio_8k_key, stored.audio_16k_key
        row.duration_ms = prepared.duration_ms
        row.sha256 = hashlib.sha256(prepared.pcm16k).hexdigest()
        self._purge_after_commit(old)

    def _check_name(
        self, org_id: uuid.UUID, name: str, other_than: uuid.UUID | None = None
    ) -> None:
        if self.repo.name_taken(org_id, name, other_than):
            raise Conflict(
                f"an announcement named {name!r} already exists", details={"field": "name"}
            )

    def _store(
        self,
        org_id: uuid.UUID,
        announcement_id: uuid.UUID,
        prepared: Prepared,
        original: bytes | None = None,
    ) -> _Stored:
        # A fresh directory per version: keys are never reused, so a purge of an old version
        # can never hit audio a later version wrote.
        base = f"announcements/{org_id}/{announcement_id}/{new_id().hex}"
        original_key = f"{base}/original.mp3" if original is not None else None
        stored = _Stored(f"{base}/8k.wav", f"{base}/16k.wav", original_key)
        self.blobs.put_bytes(stored.audio_8k_key, wav_bytes(prepared.pcm8k, 8000))
        self.blobs.put_bytes(stored.audio_16k_key, wav_bytes(prepared.pcm16k, 16000))
        if original is not None and original_key is not None:
            self.blobs.put_bytes(original_key, original)
        return stored

    def _purge_after_commit(self, keys: Sequence[str]) -> None:
        # Sessions without a queue (scripts, other contexts' tests) leave the old audio behind:
        # a stray blob costs a little space, a deleted one that is still named costs a call.
        if keys and QUEUE_INFO_KEY in self.session.info:
            enqueue(self.session, PURGE_JOB, *keys)


def _keys(stored: _Stored) -> dict[str, str | None]:
    return {
        "audio_8k_key": stored.audio_8k_key,
        "audio_16k_key": stored.audio_16k_key,
        "original_key": stored.original_key,
    }


def _prepare_mp3(data: bytes) -> Prepared:
    try:
        samples, rate = decode_mp3(data, MAX_MP3_BYTES)
    except Mp3Rejected as exc:
        if exc.code == "too_large":
            raise PayloadTooLarge(exc.reason, details={"limit_bytes": MAX_MP3_BYTES}) from exc
        raise AudioRejected(exc.code, exc.reason) from exc
    return prepare(samples, rate)
