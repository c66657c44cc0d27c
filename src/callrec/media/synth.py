"""Synthetic two-party calls written as CREC captures: for the demo tenant, benchmarks and
tests. Each party "talks" in turns — a voiced buzz at its own pitch, shaped into syllables —
with faint comfort noise while listening, so mixing, peaks and silence checks have real work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from callrec.media import g711
from callrec.media.capture import CaptureHeader, CaptureWriter

RATE = 8000
FRAME = 160  # 20 ms, one RTP packet of G.711
PCMU = 0


@dataclass(frozen=True, slots=True)
class Party:
    pitch_hz: float
    level: float = 0.25  # peak, as a fraction of full scale


CALLER = Party(pitch_hz=140.0)
CALLEE = Party(pitch_hz=215.0)


def talk_plan(seconds: float, seed: int) -> NDArray[np.int8]:
    """Who talks in each 20 ms frame: 0 caller, 1 callee, -1 nobody (turns of 1 to 6 s)."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * RATE) // FRAME
    plan = np.full(frames, -1, dtype=np.int8)
    pos, speaker = 0, 0
    while pos < frames:
        turn = int(rng.uniform(1.0, 6.0) * 50)
        pause = int(rng.uniform(0.2, 0.8) * 50)
        plan[pos : pos + turn] = speaker
        pos += turn + pause
        speaker = 1 - speaker
    return plan


def voice(party: Party, start: int, count: int, talking: NDArray[np.bool_]) -> NDArray[np.int16]:
    """``count`` samples from absolute sample ``start``; ``talking`` is per 20 ms frame."""
    t = (start + np.arange(count)) / RATE
    buzz = sum(np.sin(2 * np.pi * party.pitch_hz * k * t) / k for k in (1, 2, 3, 4))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
    gate = np.repeat(talking, FRAME)[:count].astype(np.float64)
    noise = np.random.default_rng(start).normal(0.0, 0.002, count)
    signal = party.level * buzz / 2.1 * syllables * gate + noise
    return np.clip(signal * 32767, -32768, 32767).astype(np.int16)


def write_call(
    path: Path,
    seconds: float,
    *,
    seed: int = 1,
    started_at_ms: int = 0,
    hold: tuple[float, float] | None = None,
    chunk_s: float = 60.0,
) -> None:
    """A two-leg PCMU capture. ``hold`` = (from, to) seconds during which no packets are sent
    (the recording must keep that time as silence)."""
    plan = talk_plan(seconds, seed)
    header = CaptureHeader(sample_rate=RATE, started_at_ms=started_at_ms, legs=("caller", "callee"))
    chunk_frames = int(chunk_s * 50)
    with CaptureWriter(path, header) as writer:
        for first in range(0, len(plan), chunk_frames):
            frames = plan[first : first + chunk_frames]
            start = first * FRAME
            legs = [
                g711.encode(PCMU, voice(party, start, len(frames) * FRAME, frames == index))
                for index, party in enumerate((CALLER, CALLEE))
            ]
            for f in range(len(frames)):
                at = start + f * FRAME
                if hold is not None and hold[0] * RATE <= at < hold[1] * RATE:
                    continue
                for leg, payload in enumerate(legs):
                    writer.append(leg, PCMU, at, payload[f * FRAME : (f + 1) * FRAME])
