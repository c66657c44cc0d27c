"""The periodic compliance beep, mixed into G.711 frames in the live path, and per-frame G.711
helpers on ``audioop`` (0.1 to 0.2 µs a 20 ms frame, against µs for numpy: notes/telephony.md).

The beep is placed by RTP timestamp, not by arrival time: beep ``k`` (k ≥ 1) covers samples
``origin + k·period`` to ``origin + k·period + length`` of one outgoing stream, so every packet
gets exactly the part of the tone its timestamps cover and the beeps land ``period`` apart in
what the party plays out and in the recording, whatever the network jitter.
"""

from __future__ import annotations

import math
import struct
import warnings
from typing import Final

with warnings.catch_warnings():
    # Deprecated (removed in 3.13, where the audioop-lts wheel provides it); still the fastest
    # per-frame G.711 codec and mixer there is in the standard library.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["BeepMixer", "decode_frame", "encode_frame", "mix_frame", "tone"]

RATE: Final = 8000
PT_PCMU: Final = 0
PT_PCMA: Final = 8
_WRAP: Final = 1 << 32
_FADE_S: Final = 0.005  # raised-cosine edges: a tone switched on and off hard clicks


def tone(hz: float, ms: int, level: float = 0.2, rate: int = RATE) -> bytes:
    """``ms`` of a sine at ``hz`` as 16-bit little-endian PCM, peak ``level`` of full scale."""
    if not 0 < hz < rate / 2 or ms <= 0 or not 0 < level <= 1:
        raise ValueError(f"cannot make a {ms} ms tone at {hz} Hz, level {level}")
    count = rate * ms // 1000
    fade = max(1, int(_FADE_S * rate))
    samples = []
    for i in range(count):
        edge = min(i, count - 1 - i)
        gain = 1.0 if edge >= fade else 0.5 - 0.5 * math.cos(math.pi * edge / fade)
        samples.append(round(level * 32767 * gain * math.sin(2 * math.pi * hz * i / rate)))
    return struct.pack(f"<{count}h", *samples)


def decode_frame(payload_type: int, payload: bytes) -> bytes:
    """G.711 → 16-bit PCM (``KeyError`` for a payload type that is not PCMU or PCMA)."""
    if payload_type == PT_PCMU:
        return audioop.ulaw2lin(payload, 2)
    if payload_type == PT_PCMA:
        return audioop.alaw2lin(payload, 2)
    raise KeyError(payload_type)


def encode_frame(payload_type: int, pcm: bytes) -> bytes:
    if payload_type == PT_PCMU:
        return audioop.lin2ulaw(pcm, 2)
    if payload_type == PT_PCMA:
        return audioop.lin2alaw(pcm, 2)
    raise KeyError(payload_type)


def mix_frame(pcm: bytes, other: bytes) -> bytes:
    """Saturating sum of two equal-length 16-bit PCM frames."""
    return audioop.add(pcm, other, 2)


class BeepMixer:
    """Which part of the beep a frame of one outgoing stream carries, by its RTP timestamp."""

    __slots__ = ("length", "origin", "period", "tone_pcm")

    def __init__(self, tone_pcm: bytes, period_s: float, origin_ts: int) -> None:
        if period_s <= 0:
            raise ValueError("the beep period must be positive")
        self.tone_pcm = tone_pcm
        self.length = len(tone_pcm) // 2
        self.period = round(period_s * RATE)
        if self.length >= self.period:
            raise ValueError("the beep is longer than its period")
        self.origin = origin_ts % _WRAP

    def overlay(self, ts: int, count: int) -> bytes | None:
        """``count`` samples of 16-bit PCM to add to the frame at ``ts``, or None (no beep)."""
        rel = (ts - self.origin) % _WRAP
        if rel >= _WRAP // 2:
            return None  # before the origin (a late packet from before the bridge)
        period, length = self.period, self.length
        phase = rel % period
        first = rel >= period  # beep k = 0 (the bridge itself) is not played
        out: bytearray | None = None
        if first and phase < length:
            # The frame starts inside a beep.
            take = min(count, length - phase)
            out = bytearray(2 * count)
            out[: 2 * take] = self.tone_pcm[2 * phase : 2 * (phase + take)]
        if phase + count > period:
            # The next beep starts inside the frame.
            at = period - phase
            take = min(count - at, length)
            out = out if out is not None else bytearray(2 * count)
            out[2 * at : 2 * (at + take)] = self.tone_pcm[: 2 * take]
        return bytes(out) if out is not None else None

    def mix(self, payload_type: int, payload: bytes, ts: int) -> bytes:
        """The G.711 ``payload`` at ``ts`` with its part of the beep added (itself if none)."""
        beep = self.overlay(ts, len(payload))
        if beep is None:
            return payload
        pcm = decode_frame(payload_type, payload)
        return encode_frame(payload_type, mix_frame(pcm, beep))

    def frame(self, payload_type: int, ts: int, count: int = 160) -> bytes | None:
        """A frame of only the beep (silence around it), for a party that sends nothing."""
        beep = self.overlay(ts, count)
        return None if beep is None else encode_frame(payload_type, beep)
