"""Small audio measurements for the TTS tests: level and a YIN fundamental-frequency estimate.

YIN (de Cheveigné & Kawahara, 2002): per frame, the squared-difference function of the signal
with itself shifted by each lag, normalised by its running mean; the first lag whose value dips
under a threshold is the period. Frames that are quiet or have no such dip count as unvoiced.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float64]


def samples(pcm: bytes) -> Samples:
    """16-bit little-endian PCM as floats in [-1, 1)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def rms_dbfs(pcm: bytes) -> float:
    x = samples(pcm)
    if x.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(x * x)))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def voiced_f0(
    pcm: bytes,
    sample_rate: int,
    *,
    fmin: float = 60.0,
    fmax: float = 500.0,
    threshold: float = 0.3,
    frame_s: float = 0.03,
    hop_s: float = 0.01,
) -> Samples:
    """F0 in Hz of every voiced frame (loud enough, with a clear period in [fmin, fmax])."""
    x = samples(pcm)
    width = int(frame_s * sample_rate)
    lag_min, lag_max = int(sample_rate / fmax), int(sample_rate / fmin)
    hop = int(hop_s * sample_rate)
    if x.size < width + lag_max:
        return np.empty(0)
    windows = np.lib.stride_tricks.sliding_window_view(x, width + lag_max)[::hop]
    # Energy gate 30 dB under the loudest frame: pauses and breath noise have no pitch.
    energy = np.sqrt(np.mean(windows[:, :width] ** 2, axis=1))
    windows = windows[energy > energy.max() * 10 ** (-30 / 20)]
    diff = _difference(windows, width, lag_max)
    cmnd = _cumulative_mean_normalised(diff)
    f0: list[float] = []
    for row in cmnd:
        lag = _first_dip(row, lag_min, lag_max, threshold)
        if lag is not None:
            f0.append(sample_rate / _refine(row, lag))
    return np.asarray(f0, dtype=np.float64)


def median_f0(pcm: bytes, sample_rate: int) -> float:
    f0 = voiced_f0(pcm, sample_rate)
    assert f0.size >= 10, f"only {f0.size} voiced frames: not speech"
    return float(np.median(f0))


def _difference(windows: Samples, width: int, lag_max: int) -> Samples:
    head = windows[:, :width]
    diff = np.empty((windows.shape[0], lag_max), dtype=np.float64)
    diff[:, 0] = 0.0
    for lag in range(1, lag_max):
        delta = head - windows[:, lag : lag + width]
        diff[:, lag] = np.einsum("ij,ij->i", delta, delta)
    return diff


def _cumulative_mean_normalised(diff: Samples) -> Samples:
    lags = np.arange(diff.shape[1], dtype=np.float64)
    running = np.cumsum(diff, axis=1)
    out = np.ones_like(diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, 1:] = np.where(running[:, 1:] > 0, diff[:, 1:] * lags[1:] / running[:, 1:], 1.0)
    return out


def _first_dip(row: Samples, lag_min: int, lag_max: int, threshold: float) -> int | None:
    below = np.nonzero(row[lag_min:lag_max] < threshold)[0]
    if below.size == 0:
        return None
    lag = lag_min + int(below[0])
    while lag + 1 < lag_max and row[lag + 1] < row[lag]:  # slide to the bottom of the dip
        lag += 1
    return lag


def _refine(row: Samples, lag: int) -> float:
    """Parabolic interpolation around the minimum, for sub-sample period accuracy."""
    if lag <= 0 or lag + 1 >= row.size:
        return float(lag)
    left, mid, right = row[lag - 1], row[lag], row[lag + 1]
    denominator = left - 2 * mid + right
    if denominator == 0:
        return float(lag)
    return float(lag + 0.5 * (left - right) / denominator)
