"""What a call plays for consent: the announcement for incoming calls, the ask-to-record prompt
for outgoing ``ask`` calls, and the beep interval. The recording proxy's one entry point here.

Blocking (database, blob store, maybe one TTS render): the proxy calls ``consent_for_call`` with
``asyncio.to_thread``. The ask prompt is rendered once per text and voice and kept in the blob
store (``tts-cache/…``); audio read from blobs is kept in a small in-process cache, which is safe
because every stored key names immutable content (announcements get new keys when they change).
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from callrec.consent import speech
from callrec.consent.repository import AnnouncementRepository, ConsentSettingsRepository
from callrec.consent.settings_service import prompt_request
from callrec.consent.tts import TtsRequest
from callrec.media.announce import read_wav
from callrec.models import NoAnswer
from callrec.policy import Decision, Direction, OutgoingMode
from callrec.storage import BlobNotFound, BlobStore
from callrec.worker.runtime import Runtime

__all__ = ["CallConsent", "PromptAudio", "consent_for_call"]

_CACHE_ENTRIES = 64


@dataclass(frozen=True)
class PromptAudio:
    kind: Literal["announcement", "ask_prompt"]
    announcement_id: uuid.UUID | None
    name: str
    pcm8k: bytes  # 16-bit LE mono PCM at 8000 Hz, loudness-normalised


@dataclass(frozen=True)
class CallConsent:
    announcement: PromptAudio | None  # incoming calls: played to the caller before bridging
    ask_prompt: PromptAudio | None  # outgoing calls whose decision.outgoing_mode is ASK
    ask_timeout_s: float  # how long to wait for the digit
    ask_default_record: bool  # what "no answer" means
    beep_interval_s: int | None  # None: no beep; else a tone every N s while recording


def consent_for_call(rt: Runtime, org_id: uuid.UUID, decision: Decision) -> CallConsent:
    """Raises ``SpeechFailed`` only if an ask prompt is needed, is not cached yet and the engine
    fails to render it (saving the org's settings renders it, so that is rare)."""
    with rt.sessionmaker() as session:
        settings = ConsentSettingsRepository(session).effective(org_id)
        announcement: PromptAudio | None = None
        wanted = _announcement_id(decision)
        if wanted is not None:
            row = AnnouncementRepository(session).find_in_org(org_id, wanted)
            if row is not None:
                pcm = _pcm(rt.blobs, row.audio_8k_key)
                if pcm is not None:
                    announcement = PromptAudio("announcement", row.id, row.name, pcm)
        ask: PromptAudio | None = None
        if (
            decision.record
            and decision.direction is Direction.OUTGOING
            and decision.outgoing_mode is OutgoingMode.ASK
        ):
            request = prompt_request(settings)
            pcm = _prompt_pcm(rt, request)
            ask = PromptAudio("ask_prompt", None, "ask to record", pcm)
        timeout_s, no_answer = float(settings.ask_timeout_s), settings.no_answer
    return CallConsent(
        announcement=announcement,
        ask_prompt=ask,
        ask_timeout_s=timeout_s,
        ask_default_record=no_answer is NoAnswer.RECORD,
        beep_interval_s=decision.beep_interval_s if decision.record else None,
    )


def _announcement_id(decision: Decision) -> uuid.UUID | None:
    if not decision.record or decision.direction is not Direction.INCOMING:
        return None
    if not decision.announcement_id:
        return None
    try:
        return uuid.UUID(decision.announcement_id)
    except ValueError:
        return None


def _prompt_pcm(rt: Runtime, request: TtsRequest) -> bytes:
    key = speech.cache_key(request)
    cached = _pcm(rt.blobs, key)
    if cached is not None:
        return cached
    # The org's text was checked when saved; the limit here only guards the engine.
    pcm = speech.cached_prompt(rt.blobs, request, max(rt.settings.tts_max_chars, len(request.text)))
    _remember(rt.blobs, key, pcm)
    return pcm


# --- the in-process cache of immutable blobs -------------------------------------------------

# Per store (weakly held: a store that goes away takes its entries along), most recent last.
_caches: weakref.WeakKeyDictionary[BlobStore, OrderedDict[str, bytes]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _pcm(blobs: BlobStore, key: str) -> bytes | None:
    """The PCM of a stored 8 kHz WAV, or None when the blob is missing."""
    with _cache_lock:
        cache = _caches.setdefault(blobs, OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    try:
        pcm, _rate = read_wav(blobs.get_bytes(key))
    except BlobNotFound:
        return None
    _remember(blobs, key, pcm)
    return pcm


def _remember(blobs: BlobStore, key: str, pcm: bytes) -> None:
    with _cache_lock:
        cache = _caches.setdefault(blobs, OrderedDict())
        cache[key] = pcm
        while len(cache) > _CACHE_ENTRIES:
            cache.popitem(last=False)
