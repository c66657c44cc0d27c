"""Consent media before the callee is called: the announcement played to the caller, the
ask-to-record prompt and its answer (an RFC 4733 digit or a SIP INFO), and the evidence the
recording keeps of both (the shape in docs/consent.md).

Prompts go out as 20 ms G.711 frames paced on the loop clock against absolute deadlines (no
drift), in the caller's stream that the relay then carries on."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from callrec.media.beep import encode_frame
from callrec.media.dtmf import DtmfDetector, DtmfError
from callrec.media.rtp import RtpError, parse_header
from callrec.telephony.proxy.media import MediaLeg
from callrec.telephony.sip import parse_content_type

if TYPE_CHECKING:
    from callrec.consent.playout import PromptAudio

FRAME_BYTES = 320  # 20 ms of 16-bit PCM at 8 kHz
Via = Literal["rfc4733", "info"]


async def play(leg: MediaLeg, pcm: bytes, stop: asyncio.Event) -> int:
    """Play 16-bit 8 kHz PCM to ``leg``'s party; returns the milliseconds played (less than
    the prompt when ``stop`` was set: the caller hung up, or answered the ask prompt)."""
    loop = asyncio.get_running_loop()
    frames = (len(pcm) + FRAME_BYTES - 1) // FRAME_BYTES
    start = loop.time()
    for i in range(frames):
        if stop.is_set():
            return i * 20
        chunk = pcm[i * FRAME_BYTES : (i + 1) * FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
        leg.out.own(encode_frame(leg.codec.audio_pt, chunk), time.monotonic(), marker=i == 0)
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))
    return frames * 20


def info_digit(content_type: str | None, body: bytes) -> str | None:
    """The key in a SIP INFO: ``application/dtmf-relay`` (``Signal=1``) or ``application/dtmf``
    (the digit alone). None for any other body."""
    if not content_type:
        return None
    mime, _ = parse_content_type(content_type)
    text = body.decode("utf-8", errors="replace").strip()
    if mime == "application/dtmf-relay":
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal" and value.strip():
                return value.strip()[:1]
        return None
    if mime == "application/dtmf" and text:
        return text[:1]
    return None


@dataclass
class AskAnswer:
    """The caller's answer to the ask prompt: a digit by either route, first one wins."""

    digit: str | None = None
    via: Via | None = None
    at: datetime | None = None
    event: asyncio.Event = field(default_factory=asyncio.Event)
    _detector: DtmfDetector = field(default_factory=DtmfDetector)

    def offer(self, digit: str, via: Via) -> None:
        if self.digit is None and digit in ("0", "1"):
            self.digit, self.via, self.at = digit, via, datetime.now(UTC)
            self.event.set()

    def on_rtp(self, event_pt: int | None, data: bytes) -> None:
        """The caller's RTP while we wait: only its telephone-events matter."""
        try:
            pt, _, ts, _, start, end = parse_header(data)
        except RtpError:
            return
        if pt != event_pt:
            return
        try:
            for digit in self._detector.feed(ts, bool(data[1] & 0x80), data[start:end]):
                self.offer(digit.digit, "rfc4733")
        except DtmfError:
            return


async def ask(leg: MediaLeg, prompt: PromptAudio, timeout_s: float, answer: AskAnswer,
              cancelled: asyncio.Event) -> None:  # fmt: skip
    """Play the prompt (a digit during it stops it) and wait ``timeout_s`` after it for one."""
    stop = asyncio.Event()

    async def stop_on_answer() -> None:
        await answer.event.wait()
        stop.set()

    async def stop_on_cancel() -> None:
        await cancelled.wait()
        stop.set()

    watchers = [asyncio.ensure_future(stop_on_answer()), asyncio.ensure_future(stop_on_cancel())]
    try:
        await play(leg, prompt.pcm8k, stop)
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout_s)
    finally:
        for watcher in watchers:
            watcher.cancel()


def announcement_evidence(prompt: PromptAudio, played_ms: int) -> dict[str, Any]:
    total = (len(prompt.pcm8k) // 2 * 1000 + 7999) // 8000
    complete = played_ms + 20 >= total
    return {
        "id": str(prompt.announcement_id) if prompt.announcement_id else None,
        "name": prompt.name,
        "played": "complete" if complete else "cut",
        "played_ms": min(played_ms, total),
    }


def ask_evidence(answer: AskAnswer) -> dict[str, Any]:
    verdict = {"1": "record", "0": "do_not_record"}.get(answer.digit or "", "no_answer")
    return {
        "answer": verdict,
        "digit": answer.digit,
        "via": answer.via,
        "answered_at": (answer.at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
    }
