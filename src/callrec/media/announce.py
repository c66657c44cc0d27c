"""Announcement audio: strict MP3 validation, loudness normalisation, telephony rates.

Pure: bytes and arrays in, bytes and arrays out; no database, no framework, no files.

No decoding library refuses a bad upload on its own (FFmpeg opens a WAV renamed to ``.mp3`` and
calls Layer II "mp3"; a truncated file decodes without complaint), so validation layers the
checks notes/audio.md measured: size, ID3 skipped, four consecutive MPEG Layer III frame headers,
FFmpeg's own verdict on format and codec, packet-by-packet decoding with at most 1 % bad frames,
and the length a Xing/Info header declares.
"""

from __future__ import annotations

import io
import math
import wave
from dataclasses import dataclass
from typing import Any, Final

import av
import av.error
import numpy as np
import pyloudnorm  # type: ignore[import-untyped]
from numpy.typing import NDArray
from scipy.ndimage import minimum_filter1d, uniform_filter1d  # type: ignore[import-untyped]
from scipy.signal import resample_poly  # type: ignore[import-untyped]

from callrec.media.errors import AudioDecodeError

__all__ = [
    "MAX_MP3_BYTES",
    "PEAK_CEILING",
    "RATES",
    "TARGET_LUFS",
    "Mp3Rejected",
    "Prepared",
    "decode_mp3",
    "loudness",
    "normalise",
    "pcm_to_float",
    "prepare",
    "read_wav",
    "resample",
    "wav_bytes",
]

MAX_MP3_BYTES: Final = 5 * 1024 * 1024
# Telephony announcements: -18 LUFS sits where speech is clearly heard on a handset without the
# codec's clipping, and leaves head-room for the limiter's -1 dBFS ceiling.
TARGET_LUFS: Final = -18.0
PEAK_CEILING: Final = 10 ** (-1.0 / 20)  # -1 dBFS: no sample reaches full scale
# A near-silent upload would otherwise be raised into loud hiss; past this, it stays quieter.
MAX_GAIN_DB: Final = 30.0
RATES: Final = (8000, 16000)
MAX_BAD_FRAME_RATIO: Final = 0.01
MIN_DECLARED_RATIO: Final = 0.98
_HEADERS_IN_A_ROW: Final = 4
_LIMITER_LOOKAHEAD_S: Final = 0.005
_LUFS_BLOCK_S: Final = 0.4  # BS.1770's gating block: shorter audio is padded to one block

_MPEG1, _MPEG2, _MPEG25 = 3, 2, 0
_RATES_BY_VERSION: Final = {
    _MPEG1: (44100, 48000, 32000),
    _MPEG2: (22050, 24000, 16000),
    _MPEG25: (11025, 12000, 8000),
}
_KBPS_V1_L3: Final = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_KBPS_V2_L3: Final = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_LAYER_NAMES: Final = {1: "Layer III", 2: "Layer II", 3: "Layer I"}


class Mp3Rejected(AudioDecodeError):
    """An upload that is not a sound MP3; ``code`` says which check failed, for the API."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Frame:
    version: int
    layer: int  # the header's field: 1 Layer III, 2 Layer II, 3 Layer I
    rate: int
    size: int
    samples: int
    mono: bool


@dataclass(frozen=True, slots=True)
class Prepared:
    """Loudness-normalised mono 16-bit PCM (little-endian) at each telephony rate."""

    pcm8k: bytes
    pcm16k: bytes

    @property
    def duration_ms(self) -> int:
        return round(len(self.pcm16k) / 2 / 16000 * 1000)


# --- MP3 validation -------------------------------------------------------------------------


def decode_mp3(data: bytes, max_bytes: int = MAX_MP3_BYTES) -> tuple[NDArray[np.float64], int]:
    """Validate an MP3 upload and decode it to mono float samples in [-1, 1] at its own rate.

    Raises Mp3Rejected with a code: ``empty``, ``too_large``, ``wrong_format``, ``wrong_layer``,
    ``too_short``, ``truncated`` or ``corrupt``.
    """
    if not data:
        raise Mp3Rejected("empty", "the file is empty")
    if len(data) > max_bytes:
        raise Mp3Rejected("too_large", f"the file is {len(data)} bytes; the limit is {max_bytes}")
    start = _skip_id3(data)
    first = _check_frames(data, start)
    declared = _declared_samples(data, start, first)
    samples, rate, bad, total = _decode(data)
    if total and bad > MAX_BAD_FRAME_RATIO * total:
        raise Mp3Rejected("corrupt", f"{bad} of {total} MPEG frames failed to decode")
    if not len(samples):
        raise Mp3Rejected("corrupt", "no audio could be decoded")
    if declared and len(samples) < MIN_DECLARED_RATIO * declared:
        raise Mp3Rejected(
            "truncated",
            f"the file is truncated: its Xing/Info header declares {declared / rate:.2f} s, "
            f"only {len(samples) / rate:.2f} s decode",
        )
    return samples, rate


def _skip_id3(data: bytes) -> int:
    """Offset after any ID3v2 tags (and the zero padding some taggers leave behind them)."""
    pos = 0
    while data[pos : pos + 3] == b"ID3" and len(data) >= pos + 10:
        flags = data[pos + 5]
        size_bytes = data[pos + 6 : pos + 10]
        if any(b & 0x80 for b in size_bytes):
            raise Mp3Rejected("wrong_format", "the ID3 tag's size is malformed")
        size = _syncsafe(size_bytes)
        pos += 10 + size + (10 if flags & 0x10 else 0)
    while pos < len(data) and data[pos] == 0:
        pos += 1
    return pos


def _syncsafe(four: bytes) -> int:
    value = 0
    for byte in four:
        value = (value << 7) | (byte & 0x7F)
    return value


def _parse_frame(header: bytes) -> _Frame | None:
    """An MPEG audio frame header of any layer, or None when these 4 bytes are not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 3
    if version == 1 or layer == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    if version == _MPEG25 and layer != 1:  # MPEG 2.5 only defines Layer III
        return None
    rate = _RATES_BY_VERSION[version][rate_index]
    mono = header[3] >> 6 == 3
    if layer != 1:  # Layer I/II: refused by the caller, sized only enough to say so
        return _Frame(version, layer, rate, 0, 0, mono)
    kbps = (_KBPS_V1_L3 if version == _MPEG1 else _KBPS_V2_L3)[bitrate_index]
    samples = 1152 if version == _MPEG1 else 576
    size = samples // 8 * kbps * 1000 // rate + ((header[2] >> 1) & 1)
    return _Frame(version, layer, rate, size, samples, mono)


def _check_frames(data: bytes, start: int) -> _Frame:
    """Four consecutive Layer III headers from ``start``, all of one version and rate."""
    first = _parse_frame(data[start : start + 4])
    if first is None:
        raise Mp3Rejected("wrong_format", f"not an MP3 file: {_what_it_is(data, start)}")
    if first.layer != 1:
        # A lone header-like pair of bytes is no proof: FFmpeg must find that layer too.
        if _ffmpeg_codec(data) in ("mp1", "mp2", "mp1float", "mp2float"):
            raise Mp3Rejected(
                "wrong_layer", f"MPEG audio {_LAYER_NAMES[first.layer]}, not Layer III (MP3)"
            )
        raise Mp3Rejected("wrong_format", f"not an MP3 file: {_what_it_is(data, start)}")
    pos = start
    frame_or_none: _Frame | None = first
    for index in range(_HEADERS_IN_A_ROW):
        if frame_or_none is None or frame_or_none.layer != 1:
            raise Mp3Rejected(
                "wrong_format", f"frame {index + 1} does not follow frame {index}: not a clean MP3"
            )
        frame = frame_or_none
        if (frame.version, frame.rate) != (first.version, first.rate):
            raise Mp3Rejected("wrong_format", "the frame headers change version or sample rate")
        pos += frame.size
        if index + 1 < _HEADERS_IN_A_ROW:
            if pos + 4 > len(data):
                raise Mp3Rejected(
                    "too_short", f"fewer than {_HEADERS_IN_A_ROW} MPEG frames: too short or cut"
                )
            frame_or_none = _parse_frame(data[pos : pos + 4])
    _check_last_frame(data, pos)
    return first


def _check_last_frame(data: bytes, pos: int) -> None:
    """Walk the frames to the end: one that claims more bytes than are left was cut off."""
    while pos + 4 <= len(data):
        frame = _parse_frame(data[pos : pos + 4])
        if frame is None or frame.layer != 1:
            return  # a trailing tag (ID3v1, APE) or junk: the decoder counts real damage
        if pos + frame.size > len(data):
            missing = pos + frame.size - len(data)
            raise Mp3Rejected(
                "truncated", f"the file is truncated: its last frame lacks {missing} bytes"
            )
        pos += frame.size


def _what_it_is(data: bytes, start: int) -> str:
    head = data[start : start + 12]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "it is a WAV file"
    known = {b"OggS": "an Ogg file", b"fLaC": "a FLAC file", b"caff": "a CAF file"}
    if head[:4] in known:
        return f"it is {known[head[:4]]}"
    if head[4:8] == b"ftyp":
        return "it is an MP4/M4A file"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "it is AAC (ADTS)"
    return "no MPEG audio frame where the audio should start"


def _ffmpeg_codec(data: bytes) -> str | None:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            audio = container.streams.audio
            return audio[0].codec_context.name if audio else None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return None


def _declared_samples(data: bytes, start: int, first: _Frame) -> int | None:
    """Samples a Xing/Info header in the first frame declares (frames times samples per frame)."""
    stereo_side, mono_side = (32, 17) if first.version == _MPEG1 else (17, 9)
    side = mono_side if first.mono else stereo_side
    at = start + 4 + side
    if data[at : at + 4] not in (b"Xing", b"Info"):
        return None
    flags = int.from_bytes(data[at + 4 : at + 8], "big")
    if not flags & 1:
        return None
    frames = int.from_bytes(data[at + 8 : at + 12], "big")
    if not frames:
        return None
    # LAME's extension after the optional fields states the encoder delay and end padding,
    # which decoders trim. It starts with the encoder's name and version ("LAME3.100", FFmpeg's
    # "Lavf", NUL-padded); without one the whole frames count.
    lame = at + 12 + (4 if flags & 2 else 0) + (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    trimmed = 0
    encoder = data[lame : lame + 9]
    if (
        len(encoder) == 9
        and encoder[:1].isalpha()
        and all(b == 0 or 32 <= b < 127 for b in encoder)
    ):
        packed = int.from_bytes(data[lame + 21 : lame + 24], "big")
        trimmed = (packed >> 12) + (packed & 0xFFF)
    return max(frames * first.samples - trimmed, 0) or None


def _decode(data: bytes) -> tuple[NDArray[np.float64], int, int, int]:
    """(mono samples, rate, bad packets, packets), decoding packet by packet so one bad frame
    counts as one instead of aborting the file."""
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise Mp3Rejected("wrong_format", f"not an MP3 file: {exc}") from exc
    with container:
        if container.format.name != "mp3" or not container.streams.audio:
            raise Mp3Rejected("wrong_format", f"not an MP3 file: {container.format.name} content")
        stream = container.streams.audio[0]
        if stream.codec_context.name not in ("mp3", "mp3float"):
            raise Mp3Rejected(
                "wrong_layer", f"the audio is {stream.codec_context.name}, not MPEG Layer III"
            )
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="dbl", layout="mono", rate=rate)
        parts: list[NDArray[Any]] = []
        bad = total = 0
        for packet in container.demux(stream):
            if packet.size:
                total += 1
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                bad += 1
                continue
            for frame in frames:
                parts.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
        parts.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    samples = np.concatenate(parts) if parts else np.zeros(0)
    return samples.astype(np.float64, copy=False), rate, bad, total


# --- level and rate ---------------------------------------------------------------------------


def pcm_to_float(pcm: bytes) -> NDArray[np.float64]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def resample(samples: NDArray[np.float64], source_rate: int, rate: int) -> NDArray[np.float64]:
    if source_rate == rate:
        return samples
    divisor = math.gcd(source_rate, rate)
    result: NDArray[np.float64] = resample_poly(samples, rate // divisor, source_rate // divisor)
    return result


def loudness(samples: NDArray[np.float64], rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770, LUFS); ``-inf`` for silence."""
    block = math.ceil(_LUFS_BLOCK_S * rate)
    if len(samples) < block:
        samples = np.concatenate([samples, np.zeros(block - len(samples))])
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


def normalise(
    samples: NDArray[np.float64], rate: int, target_lufs: float = TARGET_LUFS
) -> NDArray[np.float64]:
    """Gain to ``target_lufs``, then a look-ahead peak limiter so no sample passes -1 dBFS. The
    limiter takes a little loudness off loud peaks, so a second pass makes that up."""
    out = samples
    for _ in range(2):
        measured = loudness(out, rate)
        if not math.isfinite(measured):
            return _limit(out, rate)  # silence: nothing to measure, nothing to raise
        gain_db = min(target_lufs - measured, MAX_GAIN_DB)
        if abs(gain_db) < 0.05:
            break
        out = _limit(out * 10 ** (gain_db / 20), rate)
    return out


def _limit(samples: NDArray[np.float64], rate: int) -> NDArray[np.float64]:
    """Brick-wall limiter: each sample's gain is the smallest any sample within the look-ahead
    needs, smoothed by a moving average no wider than that window (so it never exceeds what a
    sample needs), then a final clip for rounding."""
    if not len(samples):
        return samples
    need = np.minimum(1.0, PEAK_CEILING / np.maximum(np.abs(samples), 1e-12))
    if need.min() >= 1.0:
        return samples
    half = max(1, round(_LIMITER_LOOKAHEAD_S * rate))
    gain = minimum_filter1d(need, size=2 * half + 1, mode="nearest")
    gain = uniform_filter1d(gain, size=half, mode="nearest")
    limited: NDArray[np.float64] = np.clip(samples * gain, -PEAK_CEILING, PEAK_CEILING)
    return limited


def _to_pcm(samples: NDArray[np.float64]) -> bytes:
    clipped = np.clip(np.round(samples * 32767.0), -32767, 32767)
    return clipped.astype("<i2").tobytes()


def prepare(samples: NDArray[np.float64], rate: int) -> Prepared:
    """Mono float samples at any rate → normalised 16-bit PCM at 8 and 16 kHz. Each rate is
    measured and normalised on its own: the 8 kHz copy lacks the 4-8 kHz energy the K-weighting
    counts, so one gain for both would leave it quieter."""
    if not len(samples):
        raise ValueError("no samples to prepare")
    out = {r: _to_pcm(normalise(resample(samples, rate, r), r)) for r in RATES}
    return Prepared(pcm8k=out[8000], pcm16k=out[16000])


# --- WAV containers -----------------------------------------------------------------------------


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def read_wav(data: bytes) -> tuple[bytes, int]:
    """(PCM, rate) of a mono 16-bit WAV this module wrote."""
    with wave.open(io.BytesIO(data), "rb") as source:
        if source.getnchannels() != 1 or source.getsampwidth() != 2:
            raise ValueError("expected a mono 16-bit WAV")
        return source.readframes(source.getnframes()), source.getframerate()
