"""From a source file to the delivery files: decode, align the legs, mix to mono, encode (MP3
by default, Ogg/Opus optionally; plus an optional caller-left/callee-right file), waveform
peaks, completeness checks, sha256. Streams window by window, so memory is bounded by the
window and not the call length."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
from numpy.typing import NDArray

from callrec.media.chunk import LegChunk
from callrec.media.decode import decode_file
from callrec.media.mixdown import render_at_native_rate
from callrec.media.mp3 import Mp3Encoder
from callrec.media.opus import OpusWriter
from callrec.media.peaks import PeaksBuilder
from callrec.media.quality import QualityMeter

PEAKS_PER_SECOND = 10
EXTENSIONS = {"mp3": "mp3", "opus": "ogg"}


@dataclass(frozen=True, slots=True)
class Processed:
    format: str
    audio_path: Path
    sample_rate: int
    duration_ms: int
    size_bytes: int
    sha256: str
    peaks_json: bytes
    quality_flags: tuple[str, ...]
    stereo_path: Path | None


@dataclass(frozen=True, slots=True)
class Delivery:
    format: str = "mp3"  # or "opus"
    bitrate_kbps: int = 32  # MP3; Opus uses half (it needs less for the same speech)
    quality: int = 7  # LAME's speed/quality trade-off
    dual_channel: bool = False


class _Sink(Protocol):
    def write(self, pcm: NDArray[np.int16]) -> None: ...

    def close(self) -> None: ...


class _Mp3File:
    """An MP3 written as it is encoded, with the finished LAME Info frame put over the
    placeholder at the end (exact duration and gapless start in players)."""

    def __init__(self, path: Path, rate: int, channels: int, kbps: int, quality: int) -> None:
        self.encoder = Mp3Encoder(rate, channels=channels, bitrate_kbps=kbps, quality=quality)
        self.out: BinaryIO = path.open("wb")
        self.samples = 0

    def write(self, pcm: NDArray[np.int16]) -> None:
        self.samples += len(pcm)
        self.out.write(self.encoder.encode(pcm))

    def close(self) -> None:
        with self.out:
            self.out.write(self.encoder.flush())
            if self.samples:
                self.out.seek(0)
                self.out.write(self.encoder.info_frame())


def _sink(path: Path, rate: int, channels: int, delivery: Delivery) -> _Sink:
    kbps = delivery.bitrate_kbps * channels
    if delivery.format == "opus":
        return OpusWriter(path, rate, channels, bitrate_kbps=max(6, kbps // 2))
    return _Mp3File(path, rate, channels, kbps, delivery.quality)


def process_audio(
    source: Path,
    source_format: str,
    workdir: Path,
    delivery: Delivery,
    on_progress: Callable[[], None] = lambda: None,
) -> Processed:
    """``on_progress`` is called after every window (the job renews its lease there)."""
    rate, chunks = _chunks(source, source_format)
    ext = EXTENSIONS[delivery.format]
    audio_path, stereo_path = workdir / f"audio.{ext}", workdir / f"stereo.{ext}"
    mono = _sink(audio_path, rate, 1, delivery)
    stereo: _Sink | None = None
    peaks = PeaksBuilder(rate, samples_per_pixel=max(1, rate // PEAKS_PER_SECOND))
    meter: QualityMeter | None = None
    samples = 0
    try:
        for chunk in chunks:
            if meter is None:
                meter = QualityMeter(rate, len(chunk.legs))
                if delivery.dual_channel and len(chunk.legs) >= 2:
                    stereo = _sink(stereo_path, rate, 2, delivery)
            meter.add(chunk.legs)
            peaks.add(chunk.mono)
            mono.write(chunk.mono)
            if stereo is not None:
                stereo.write(_interleave(chunk))
            samples += len(chunk.mono)
            on_progress()
    finally:
        mono.close()
        if stereo is not None:
            stereo.close()
    flags = tuple(meter.flags()) if meter is not None else ("zero_length",)
    return Processed(
        format=delivery.format,
        audio_path=audio_path,
        sample_rate=rate,
        duration_ms=samples * 1000 // rate,
        size_bytes=audio_path.stat().st_size,
        sha256=file_sha256(audio_path),
        peaks_json=json.dumps(peaks.to_json(), separators=(",", ":")).encode(),
        quality_flags=flags,
        stereo_path=stereo_path if stereo is not None else None,
    )


def _chunks(source: Path, source_format: str) -> tuple[int, Iterator[LegChunk]]:
    if source_format == "crec":
        # 16 kHz for a call that was G.722 throughout (wideband stays wideband), else 8 kHz.
        return render_at_native_rate(source)
    return decode_file(source)


def _interleave(chunk: LegChunk) -> NDArray[np.int16]:
    out = np.empty(len(chunk.mono) * 2, dtype=np.int16)
    out[0::2] = chunk.legs[0]
    out[1::2] = chunk.legs[1]
    return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
