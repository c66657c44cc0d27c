"""Synthetic audio for the media tests: tones, tone detection and CREC captures built on them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from callrec.media import g711
from callrec.media.capture import CaptureHeader, CaptureWriter
from callrec.media.chunk import LegChunk

RATE = 8000
PACKET = 160  # 20 ms of G.711


def tone(
    freq: float, seconds: float, rate: int = RATE, amplitude: float = 8000.0, start: int = 0
) -> NDArray[np.int16]:
    """A sine with its phase taken from the absolute sample index ``start``."""
    n = round(seconds * rate)
    t = (np.arange(n) + start) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def level(pcm: NDArray[np.int16], freq: float, rate: int = RATE) -> float:
    """Amplitude of the ``freq`` component (Goertzel-style single-bin DFT), 0 for silence."""
    if not len(pcm):
        return 0.0
    t = np.arange(len(pcm)) / rate
    x = pcm.astype(np.float64)
    return float(2 * abs(np.dot(x, np.exp(-2j * np.pi * freq * t))) / len(pcm))


def dominant(pcm: NDArray[np.int16], rate: int = RATE) -> float:
    """Frequency of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum))])


def rms(pcm: NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if len(pcm) else 0.0


@dataclass(frozen=True)
class Packet:
    leg: int
    payload_type: int
    offset: int
    payload: bytes


def packetize(
    leg: int,
    pcm: NDArray[np.int16],
    payload_type: int = g711.PT_PCMU,
    offset: int = 0,
    size: int = PACKET,
) -> list[Packet]:
    """Cut a leg's signal into G.711 packets placed at ``offset`` on the timeline."""
    codes = g711.encode(payload_type, pcm)
    return [
        Packet(leg, payload_type, offset + i, codes[i : i + size])
        for i in range(0, len(codes), size)
    ]


def interleave(*legs: Sequence[Packet]) -> list[Packet]:
    """Arrival order: packets of all legs by offset, as a recorder would see them."""
    return sorted((p for leg in legs for p in leg), key=lambda p: (p.offset, p.leg))


def write_capture(
    path: Path,
    packets: Iterable[Packet],
    legs: Sequence[str] = ("caller", "callee"),
    rate: int = RATE,
) -> Path:
    header = CaptureHeader(sample_rate=rate, started_at_ms=1_767_225_600_000, legs=tuple(legs))
    with CaptureWriter(path, header) as writer:
        for p in packets:
            writer.append(p.leg, p.payload_type, p.offset, p.payload)
    return path


def decoded(payload_type: int, pcm: NDArray[np.int16]) -> NDArray[np.int16]:
    """What a leg sounds like after the G.711 round trip: the exact expected render output."""
    return g711.decode(payload_type, g711.encode(payload_type, pcm))


def joined(chunks: Iterable[LegChunk]) -> tuple[list[NDArray[np.int16]], NDArray[np.int16]]:
    """Concatenate chunks into whole legs and a whole mono track, checking they are contiguous."""
    chunks = list(chunks)
    position = 0
    for chunk in chunks:
        assert chunk.start == position
        assert all(len(leg) == len(chunk.mono) for leg in chunk.legs)
        position += len(chunk.mono)
    if not chunks:
        return [], np.zeros(0, np.int16)
    legs = [np.concatenate(parts) for parts in zip(*(c.legs for c in chunks), strict=True)]
    return legs, np.concatenate([c.mono for c in chunks])
