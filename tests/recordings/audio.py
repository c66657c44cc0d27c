"""Reading delivered audio back, to assert on what a listener would hear."""

from __future__ import annotations

import io

import av
import numpy as np
from numpy.typing import NDArray


def decode(data: bytes) -> tuple[int, int, NDArray[np.float64]]:
    """(sample rate, channels, samples as float in [-1, 1], channels interleaved)."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate, channels = stream.rate, stream.channels
        parts = [
            frame.to_ndarray().astype(np.float64).reshape(-1, order="F")
            if frame.format.is_planar
            else frame.to_ndarray().astype(np.float64).reshape(-1)
            for frame in container.decode(stream)
        ]
    samples = np.concatenate(parts) if parts else np.zeros(0)
    if np.abs(samples).max(initial=0) > 1.5:  # integer sample formats
        samples = samples / 32768.0
    return rate, channels, samples


def dbfs(samples: NDArray[np.float64]) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    return 20 * np.log10(max(rms, 1e-10))


def window(
    samples: NDArray[np.float64], rate: int, start_s: float, end_s: float
) -> NDArray[np.float64]:
    return samples[int(start_s * rate) : int(end_s * rate)]
