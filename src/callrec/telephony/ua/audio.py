"""What a user agent says: 8 kHz PCM split into 20 ms frames, and the clock that paces them.

``pace`` is the one real-time loop of the test and demo clients (this UA and the SIPREC client):
frame ``f`` goes out at ``start + f * 20 ms`` on the monotonic clock, so a late tick never makes
the stream drift. ``conversation`` is the demo's synthetic two-party talk, one PCM track per party.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from callrec.media.synth import CALLEE, CALLER, FRAME, RATE, talk_plan, voice

FRAME_S = FRAME / RATE  # 20 ms
Monotonic = Callable[[], float]


@dataclass(frozen=True, eq=False)
class Pcm:
    """16-bit mono samples at 8 kHz. Past its end a track is silent, or starts over (``loop``)."""

    samples: NDArray[np.int16]
    loop: bool = False

    @property
    def frames(self) -> int:
        return -(-len(self.samples) // FRAME)

    def frame(self, index: int) -> NDArray[np.int16]:
        """The 160 samples of frame ``index``."""
        if self.loop and len(self.samples):
            index %= self.frames
        chunk = self.samples[index * FRAME : (index + 1) * FRAME]
        if len(chunk) == FRAME:
            return chunk
        return np.concatenate([chunk, np.zeros(FRAME - len(chunk), np.int16)])


def tone(hz: float, seconds: float, level: float = 0.3) -> Pcm:
    """A sine at ``level`` of full scale; it loops (a whole number of cycles per track)."""
    t = np.arange(int(seconds * RATE)) / RATE
    return Pcm((level * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16), loop=True)


def conversation(seconds: float, seed: int) -> tuple[Pcm, Pcm]:
    """The caller's and the callee's tracks of one synthetic call: they take turns talking."""
    plan = talk_plan(seconds, seed)
    count = len(plan) * FRAME
    return (Pcm(voice(CALLER, 0, count, plan == 0)), Pcm(voice(CALLEE, 0, count, plan == 1)))


async def pace(
    frames: int | None,
    tick: Callable[[int], None],
    clock: Monotonic = time.monotonic,
    stop: asyncio.Event | None = None,
) -> int:
    """Call ``tick(f)`` for f = 0, 1, … every 20 ms until ``frames`` ticks or ``stop`` is set.
    Returns how many ticks ran."""
    start = clock()
    f = 0
    while (frames is None or f < frames) and not (stop is not None and stop.is_set()):
        tick(f)
        f += 1
        await asyncio.sleep(max(0.0, start + f * FRAME_S - clock()))
    return f
