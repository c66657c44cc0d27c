"""Recording quality signals from the rendered audio: who spoke, and whether anything did.

Activity is an energy gate on 20 ms frames: a frame is active when its RMS is above -45 dBFS
(full scale = 32768). That is the level that measured well for ignoring line noise and comfort
noise at the start of calls (see the audio notes); it is a floor, not a voice detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callrec.media.chunk import mix

__all__ = ["ACTIVE_DBFS", "FRAME_S", "MOSTLY_SILENT_BELOW", "QualityMeter"]

FRAME_S: Final = 0.020
ACTIVE_DBFS: Final = -45.0
MOSTLY_SILENT_BELOW: Final = 0.10  # share of active frames in the mixed signal
# Compare mean squares, not RMS in dB: no sqrt or log per frame, and silence needs no special case.
_ACTIVE_MEAN_SQUARE: Final = (32768.0 * 10.0 ** (ACTIVE_DBFS / 20.0)) ** 2


class QualityMeter:
    """Fed the per-leg arrays of each chunk (all legs the same length), in timeline order.

    A final frame shorter than 20 ms counts as a frame, so a 10 ms recording is not "empty".
    """

    def __init__(self, sample_rate: int, legs: int) -> None:
        if sample_rate <= 0 or legs <= 0:
            raise ValueError("sample_rate and legs must be positive")
        self.sample_rate = sample_rate
        self.legs = legs
        self._frame = max(1, round(FRAME_S * sample_rate))
        self._samples = 0
        self._frames = 0
        self._active = np.zeros(legs + 1, np.int64)  # per leg, then the mix
        self._carry = np.zeros((legs, 0), np.int16)

    def add(self, legs: Sequence[NDArray[np.int16]]) -> None:
        if len(legs) != self.legs:
            raise ValueError(f"expected {self.legs} legs, got {len(legs)}")
        if len({len(leg) for leg in legs}) > 1:
            raise ValueError("all legs of a chunk must have the same length")
        self._samples += len(legs[0])
        signals = np.concatenate([self._carry, np.stack(legs).astype(np.int16, copy=False)], axis=1)
        whole = signals.shape[1] // self._frame * self._frame
        self._count(signals[:, :whole])
        self._carry = signals[:, whole:].copy()

    def _count(self, signals: NDArray[np.int16]) -> None:
        frames = signals.shape[1] // self._frame
        if not frames:
            return
        self._frames += frames
        self._active += _active_frames(signals, self._frame).sum(axis=1)

    def _totals(self) -> tuple[int, NDArray[np.int64]]:
        """Frames and active frames per leg and mix, counting the unfinished last frame."""
        if not self._carry.shape[1]:
            return self._frames, self._active
        partial = _active_frames(self._carry, self._carry.shape[1]).sum(axis=1)
        return self._frames + 1, self._active + partial

    @property
    def duration_s(self) -> float:
        return self._samples / self.sample_rate

    @property
    def active_seconds(self) -> tuple[float, ...]:
        """Per leg: how long it was above the gate, in whole frames (the last may be partial)."""
        _, active = self._totals()
        frame_s = self._frame / self.sample_rate
        return tuple(float(n) * frame_s for n in active[: self.legs])

    @property
    def mixed_active_ratio(self) -> float:
        frames, active = self._totals()
        return float(active[self.legs]) / frames if frames else 0.0

    def flags(self) -> list[str]:
        if not self._samples:
            return ["zero_length"]
        flags = []
        _, active = self._totals()
        per_leg = active[: self.legs]
        if self.legs >= 2 and per_leg.max() > 0 and per_leg.min() == 0:
            flags.append("one_sided")
        if self.mixed_active_ratio < MOSTLY_SILENT_BELOW:
            flags.append("mostly_silent")
        return flags


def _active_frames(signals: NDArray[np.int16], frame: int) -> NDArray[np.bool_]:
    """(legs + 1, frames): whether each leg's and the mix's frames are above the gate."""
    rows = np.concatenate([signals, mix(list(signals))[None, :]])
    # float32 and one einsum: a third of the float64 mean's time on a 4-hour call, and a sum of
    # 160 squared int16 values keeps ample precision for a threshold comparison.
    framed = rows.reshape(len(rows), -1, frame).astype(np.float32)
    energy = np.einsum("ijk,ijk->ij", framed, framed)
    active: NDArray[np.bool_] = energy > _ACTIVE_MEAN_SQUARE * frame
    return active
