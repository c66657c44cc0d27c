"""The unit every renderer and decoder yields: a stretch of the timeline, per leg and mixed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_INT16_MIN = np.iinfo(np.int16).min
_INT16_MAX = np.iinfo(np.int16).max


@dataclass(frozen=True, slots=True, eq=False)
class LegChunk:
    """``legs[i]`` and ``mono`` all cover samples ``start .. start + len(mono)`` of the timeline."""

    start: int
    legs: tuple[NDArray[np.int16], ...]
    mono: NDArray[np.int16]

    def __len__(self) -> int:
        return len(self.mono)


def mix(legs: Sequence[NDArray[np.int16]]) -> NDArray[np.int16]:
    """Saturating sum of equal-length int16 signals (what ``audioop.add`` did): sum in int32, clip.

    Clipping rather than averaging keeps each party at its own level when the other is silent,
    which is most of a call.
    """
    if not legs:
        raise ValueError("nothing to mix")
    if len(legs) == 1:
        return legs[0].copy()
    total = np.add(legs[0], legs[1], dtype=np.int32)
    for leg in legs[2:]:
        total += leg
    np.clip(total, _INT16_MIN, _INT16_MAX, out=total)
    return total.astype(np.int16)
