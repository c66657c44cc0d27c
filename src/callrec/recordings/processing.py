"""From a source file to the delivery files: decode, align the legs, mix to mono, encode MP3
(plus an optional caller-left/callee-right file), waveform peaks, completeness checks, sha256.
Streams window by window, so memory is bounded by the window and not the call length."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callrec.media.capture import CaptureHeader
from callrec.media.chunk import LegChunk
from callrec.media.decode import decode_file
from callrec.media.mixdown import render_capture
from callrec.media.mp3 import Mp3Encoder
from callrec.media.peaks import PeaksBuilder
from callrec.media.quality import QualityMeter

PEAKS_PER_SECOND = 10


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


def process_audio(
    source: Path,
    source_format: str,
    workdir: Path,
    *,
    bitrate_kbps: int,
    dual_channel: bool,
    quality: int = 7,
    on_progress: Callable[[], None] = lambda: None,
) -> Processed:
    """``on_progress`` is called after every window (the job renews its lease there)."""
    rate, chunks = _chunks(source, source_format)
    audio_path = workdir / "audio.mp3"
    stereo_path = workdir / "stereo.mp3"
    mono = Mp3Encoder(rate, channels=1, bitrate_kbps=bitrate_kbps, quality=quality)
    stereo: Mp3Encoder | None = None
    peaks = PeaksBuilder(rate, samples_per_pixel=max(1, rate // PEAKS_PER_SECOND))
    meter: QualityMeter | None = None
    samples = 0
    with audio_path.open("wb") as out, stereo_path.open("wb") as out2:
        for chunk in chunks:
            if meter is None:
                meter = QualityMeter(rate, len(chunk.legs))
                if dual_channel and len(chunk.legs) >= 2:
                    stereo = Mp3Encoder(
                        rate, channels=2, bitrate_kbps=bitrate_kbps * 2, quality=quality
                    )
            meter.add(chunk.legs)
            peaks.add(chunk.mono)
            out.write(mono.encode(chunk.mono))
            if stereo is not None:
                out2.write(stereo.encode(_interleave(chunk)))
            samples += len(chunk.mono)
            on_progress()
        out.write(mono.flush())
        if stereo is not None:
            out2.write(stereo.flush())
        if samples:
            # The finished LAME Info frame over the placeholder: exact duration and gapless
            # start in players, as the lame CLI writes it.
            out.seek(0)
            out.write(mono.info_frame())
            if stereo is not None:
                out2.seek(0)
                out2.write(stereo.info_frame())
    if stereo is None:
        stereo_path.unlink()
    flags = tuple(meter.flags()) if meter is not None else ("zero_length",)
    return Processed(
        format="mp3",
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
        with source.open("rb") as handle:
            rate = CaptureHeader.read(handle).sample_rate
        return rate, render_capture(source)
    return decode_file(source)


def _interleave(chunk: LegChunk) -> np.ndarray:
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
