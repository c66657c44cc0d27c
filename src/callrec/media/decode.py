"""Decode uploaded audio (WAV PCM/μ-law/A-law, MP3, Ogg/Opus, …) to int16 chunks with PyAV.

Decoding goes packet by packet so that one bad frame costs one packet, not the file (the
container-level ``decode()`` raises on the first); a file is rejected only when more than 1 % of
its packets fail, which tolerates a glitch but not a corrupted or mislabelled upload.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import av
import av.error
import numpy as np
from av.container import InputContainer
from numpy.typing import NDArray

from callrec.media.chunk import LegChunk, mix
from callrec.media.errors import AudioDecodeError

__all__ = [
    "MAX_FAILED_PACKET_RATIO",
    "MIN_DECODED_RATIO",
    "AudioDecodeError",
    "decode_file",
    "output_rate",
]

MAX_FAILED_PACKET_RATIO: Final = 0.01
# Telephony rates are kept as they are; anything else becomes one of them (wideband if the source
# has the bandwidth for it), so every later stage only ever sees 8 or 16 kHz.
_NATIVE_RATES: Final = (8000, 16000)
# A file that decodes to less than this share of its stated duration lost its sync (an Ogg file
# with a damaged page decodes a few ms and stops without a single failed packet).
MIN_DECODED_RATIO: Final = 0.98
_DURATION_SLACK_S: Final = 0.1  # codec priming (Opus pre-skip) counts in some stated durations
# Formats whose stated duration FFmpeg estimates from the bitrate (MP3 without a Xing header, raw
# ADTS AAC): a VBR file would be rejected for a wrong guess, so only failed packets count there.
_GUESSED_DURATION: Final = frozenset({"mp3", "aac"})


def output_rate(source_rate: int) -> int:
    if source_rate in _NATIVE_RATES:
        return source_rate
    return 16000 if source_rate >= 16000 else 8000


@dataclass(frozen=True, slots=True)
class _Source:
    rate: int
    layout: str
    channels: int
    declared_s: float | None  # the duration the container states, when it is not a guess


def decode_file(
    path: str | os.PathLike[str], target_rate: int | None = None, chunk_s: float = 30.0
) -> tuple[int, Iterator[LegChunk]]:
    """Open ``path`` and return the output sample rate and an iterator of chunks.

    One leg per source channel (stereo: caller left, callee right); ``mono`` mixes them. The file
    is probed here, so an unreadable file or one without audio fails now; a file whose packets
    fail too often fails when the iterator reaches its end, so consume it fully before trusting
    the result.
    """
    if chunk_s <= 0 or (target_rate is not None and target_rate <= 0):
        raise ValueError("target_rate and chunk_s must be positive")
    source = _probe(path)
    rate = target_rate if target_rate is not None else output_rate(source.rate)
    return rate, _chunks(path, source, rate, max(1, round(chunk_s * rate)))


def _open(path: str | os.PathLike[str]) -> InputContainer:
    try:
        return av.open(os.fspath(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioDecodeError(f"cannot open {os.fspath(path)!r} as audio: {exc}") from exc


def _probe(path: str | os.PathLike[str]) -> _Source:
    with _open(path) as container:
        if not container.streams.audio:
            raise AudioDecodeError(f"{os.fspath(path)!r} has no audio stream")
        stream = container.streams.audio[0]
        codec = stream.codec_context
        if not codec.sample_rate or not codec.layout.nb_channels:
            raise AudioDecodeError(f"{os.fspath(path)!r} declares no sample rate or channels")
        declared = None
        if container.format.name not in _GUESSED_DURATION and stream.duration and stream.time_base:
            declared = float(stream.duration * stream.time_base)
        return _Source(codec.sample_rate, codec.layout.name, codec.layout.nb_channels, declared)


def _chunks(
    path: str | os.PathLike[str], source: _Source, rate: int, chunk: int
) -> Iterator[LegChunk]:
    pending = _Pending(source.channels)
    start = 0
    packets = failed = 0
    resampler = av.AudioResampler(format="s16", layout=source.layout, rate=rate)
    with _open(path) as container:
        stream = container.streams.audio[0]
        for packet in container.demux(stream):
            if packet.size:  # the final empty packet only flushes the decoder
                packets += 1
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                failed += 1
                continue
            for frame in frames:
                # A frame whose layout drifted from the stream's would mislabel the legs.
                if frame.layout.nb_channels != source.channels:
                    failed += 1
                    continue
                for out in resampler.resample(frame):
                    pending.add(out.to_ndarray().astype(np.int16, copy=False))
            while len(pending) >= chunk:
                yield _chunk(start, pending.take(chunk))
                start += chunk
    for out in resampler.resample(None):
        pending.add(out.to_ndarray().astype(np.int16, copy=False))
    _check(path, source, packets, failed, (start + len(pending)) / rate)
    while len(pending):
        part = pending.take(min(chunk, len(pending)))
        yield _chunk(start, part)
        start += part.shape[1]


def _check(
    path: str | os.PathLike[str], source: _Source, packets: int, failed: int, decoded_s: float
) -> None:
    name = os.fspath(path)
    if packets and failed > MAX_FAILED_PACKET_RATIO * packets:
        raise AudioDecodeError(f"{name!r}: {failed} of {packets} packets failed to decode")
    if not decoded_s:
        raise AudioDecodeError(f"{name!r}: no audio could be decoded")
    stated = source.declared_s
    if stated and decoded_s + _DURATION_SLACK_S < MIN_DECODED_RATIO * stated:
        raise AudioDecodeError(f"{name!r}: decoded {decoded_s:.2f} s of a stated {stated:.2f} s")


def _chunk(start: int, legs: NDArray[np.int16]) -> LegChunk:
    parts = tuple(np.ascontiguousarray(leg) for leg in legs)
    return LegChunk(start=start, legs=parts, mono=mix(parts))


class _Pending:
    """Decoded samples not yet yielded, as (channels, n); bounded by one chunk plus one frame."""

    def __init__(self, channels: int) -> None:
        self._channels = channels
        self._parts: list[NDArray[np.int16]] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, packed: NDArray[np.int16]) -> None:
        # s16 is packed: one row of interleaved samples, channel 0 first.
        planar = packed.reshape(-1, self._channels).T
        self._parts.append(planar)
        self._size += planar.shape[1]

    def take(self, n: int) -> NDArray[np.int16]:
        joined = (
            np.concatenate(self._parts, axis=1)
            if self._parts
            else np.zeros((self._channels, 0), np.int16)
        )
        head, tail = joined[:, :n], joined[:, n:]
        self._parts = [tail] if tail.shape[1] else []
        self._size = tail.shape[1]
        return head
