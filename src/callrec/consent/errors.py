"""The consent context's domain errors (subclasses of ``callrec.kit.errors``' tree).

Unprocessable (422)
├── AudioRejected        an MP3 upload failed validation: code ``mp3_<reason>``, details.reason
├── TextTooLong          TTS text over ``CALLREC_TTS_MAX_CHARS``: details.count, details.limit
├── UnknownVoice         a voice the engine does not list: details.voice
└── SpeechFailed         the engine refused the text or failed
PayloadTooLarge (413)    an upload over the 5 MiB announcement limit
Conflict (409)           deleting an announcement that a settings level still assigns
"""

from __future__ import annotations

from typing import Any

from callrec.kit.errors import CallrecError, Unprocessable


class AudioRejected(Unprocessable):
    def __init__(self, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": reason, **(details or {})})
        self.code = f"mp3_{reason}"


class TextTooLong(Unprocessable):
    code = "tts_text_too_long"


class UnknownVoice(Unprocessable):
    code = "tts_unknown_voice"


class SpeechFailed(Unprocessable):
    code = "tts_failed"


class PayloadTooLarge(CallrecError):
    status_code = 413
    code = "payload_too_large"
