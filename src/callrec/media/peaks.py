"""Waveform peaks in the BBC audiowaveform JSON v2 format (what peaks.js draws from).

Each pixel is the min and max of ``samples_per_pixel`` consecutive samples, scaled from 16 to 8
bits by an arithmetic shift (floor of /256), which maps -32768..32767 onto exactly -128..127.
Chunks may be any size: a pixel's unfinished samples carry over to the next chunk, so the result
is the same however the audio is cut.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["PeaksBuilder"]

_VERSION: Final = 2
_BITS: Final = 8


class PeaksBuilder:
    def __init__(self, sample_rate: int, samples_per_pixel: int) -> None:
        if sample_rate <= 0 or samples_per_pixel <= 0:
            raise ValueError("sample_rate and samples_per_pixel must be positive")
        self.sample_rate = sample_rate
        self.samples_per_pixel = samples_per_pixel
        self._pixels: list[NDArray[np.int8]] = []  # interleaved min, max per finished pixel
        self._carry = np.zeros(0, np.int16)  # samples of the unfinished pixel

    def add(self, pcm: NDArray[np.int16]) -> None:
        samples = np.concatenate([self._carry, np.asarray(pcm, dtype=np.int16).reshape(-1)])
        whole = len(samples) // self.samples_per_pixel * self.samples_per_pixel
        if whole:
            self._pixels.append(_min_max(samples[:whole].reshape(-1, self.samples_per_pixel)))
        self._carry = samples[whole:].copy()

    @property
    def length(self) -> int:
        """Pixels so far, counting an unfinished last one."""
        return sum(len(p) for p in self._pixels) // 2 + (1 if len(self._carry) else 0)

    def to_json(self) -> dict[str, int | list[int]]:
        """The audiowaveform v2 dict; a final partial pixel counts as a pixel. Does not reset."""
        parts = list(self._pixels)
        if len(self._carry):
            parts.append(_min_max(self._carry.reshape(1, -1)))
        data = np.concatenate(parts) if parts else np.zeros(0, np.int8)
        return {
            "version": _VERSION,
            "channels": 1,
            "sample_rate": self.sample_rate,
            "samples_per_pixel": self.samples_per_pixel,
            "bits": _BITS,
            "length": len(data) // 2,
            "data": data.tolist(),
        }


def _min_max(frames: NDArray[np.int16]) -> NDArray[np.int8]:
    pairs = np.empty((len(frames), 2), np.int8)
    pairs[:, 0] = frames.min(axis=1) >> 8
    pairs[:, 1] = frames.max(axis=1) >> 8
    return pairs.reshape(-1)
