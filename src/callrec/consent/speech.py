"""Text-to-speech for announcements and the ask-to-record prompt: the character limit, the
voice list, and rendering into the stored form (normalised PCM at 8 and 16 kHz).

Wraps the engine (``consent.tts``, which checks parameter ranges and voices too) so that every
refusal is one of the API's typed errors.
"""

from __future__ import annotations

import hashlib

from callrec.consent import tts
from callrec.consent.errors import SpeechFailed, TextTooLong, UnknownVoice
from callrec.kit.errors import Unprocessable
from callrec.media.announce import Prepared, pcm_to_float, prepare, read_wav, wav_bytes
from callrec.storage import BlobNotFound, BlobStore

DEFAULT_VOICE = "en-us"
# The ask prompt's fixed delivery: a clear, unhurried voice.
PROMPT_PITCH = 5
PROMPT_RATE = 4
PROMPT_GENDER: tts.Gender = "female"

# The brief's prompt, and the same sentence in the languages callrec ships it in. An org whose
# prompt voice speaks another language writes its own text.
ASK_PROMPTS: dict[str, str] = {
    "en": "Please press 0 to disable call recording, press 1 to apply call recording.",
    "de": "Bitte drücken Sie 0, um die Gesprächsaufzeichnung abzuschalten, "
    "und 1, um das Gespräch aufzuzeichnen.",
    "es": "Pulse 0 para desactivar la grabación de la llamada, pulse 1 para grabarla.",
    "fr": "Appuyez sur 0 pour désactiver l'enregistrement de l'appel, "
    "appuyez sur 1 pour enregistrer l'appel.",
    "it": "Premere 0 per disattivare la registrazione della chiamata, "
    "premere 1 per registrare la chiamata.",
    "nl": "Druk op 0 om het opnemen van het gesprek uit te schakelen, "
    "druk op 1 om het gesprek op te nemen.",
    "pt": "Pressione 0 para desativar a gravação da chamada, pressione 1 para gravar a chamada.",
}


def voices() -> list[tts.Voice]:
    return tts.list_voices()


def find_voice(voice_id: str) -> tts.Voice:
    for voice in voices():
        if voice.id == voice_id:
            return voice
    raise UnknownVoice(
        f"unknown voice {voice_id!r}: pick one from GET /api/v1/tts/voices",
        details={"voice": voice_id},
    )


def check_text(text: str, limit: int, field: str = "text") -> None:
    count = len(text)
    if count > limit:
        raise TextTooLong(
            f"the message has {count} characters; the limit is {limit}",
            details={"field": field, "count": count, "limit": limit},
        )
    if not text.strip():
        raise Unprocessable("the message is empty", details={"field": field})


def default_prompt(language: str) -> str | None:
    return ASK_PROMPTS.get(language)


def synthesise(request: tts.TtsRequest, limit: int) -> Prepared:
    """Check, render and normalise; blocking (the engine runs in a worker process)."""
    check_text(request.text, limit)
    find_voice(request.voice)
    try:
        rendered = tts.render(request)
    except tts.TtsError as exc:
        raise SpeechFailed(f"text-to-speech failed: {exc}") from exc
    if not rendered.pcm:
        raise SpeechFailed("text-to-speech produced no audio for this text")
    return prepare(pcm_to_float(rendered.pcm), rendered.sample_rate)


def cache_key(request: tts.TtsRequest) -> str:
    """Where a rendered prompt is kept: named by everything that shapes its audio, so a change
    of text or voice is a new entry and an entry never goes stale."""
    spec = "\x1f".join(
        ("v1", request.text, request.voice, str(request.pitch), str(request.rate), request.gender)
    )
    return f"tts-cache/{hashlib.sha256(spec.encode()).hexdigest()}.8k.wav"


def cached_prompt(blobs: BlobStore, request: tts.TtsRequest, limit: int) -> bytes:
    """The prompt's 8 kHz PCM from the blob store, rendered and stored first if it is not
    there yet. Writing it is safe inside any transaction: the key names its content."""
    key = cache_key(request)
    try:
        return read_wav(blobs.get_bytes(key))[0]
    except BlobNotFound:
        pass
    prepared = synthesise(request, limit)
    blobs.put_bytes(key, wav_bytes(prepared.pcm8k, 8000))
    return prepared.pcm8k
