"""MP3 encoding with lameenc, plus the LAME "Info" frame lameenc does not write.

Without that frame a decoder cannot know the encoder delay (576 samples) and the end padding, so
every MP3 plays up to ~160 ms longer than its input at 8 kHz and its audio starts late. The encoder
emits a placeholder Info frame first (already carrying the delay) and ``info_frame()`` returns the
complete one, with the frame count and padding, to write over the first bytes once the stream is
finished, exactly as the LAME command-line tool does. Decoders that ignore it play it as silence.
"""

from __future__ import annotations

import struct
from typing import Final

import lameenc  # type: ignore[import-not-found]
import numpy as np
from numpy.typing import NDArray

__all__ = ["ENCODER_DELAY", "Mp3Encoder"]

ENCODER_DELAY: Final = 576  # samples LAME puts before the input; decoders add 529 of their own
_MPEG1_RATES: Final = (44100, 48000, 32000)
_MPEG2_RATES: Final = (22050, 24000, 16000)
_MPEG25_RATES: Final = (11025, 12000, 8000)
_MPEG1_KBPS: Final = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2_KBPS: Final = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_VERSION_BITS: Final = {3: _MPEG1_RATES, 2: _MPEG2_RATES, 0: _MPEG25_RATES}
# The tag: "Info", flags (frame count only), the count, then LAME's 36-byte extension.
_TAG: Final = struct.Struct(">4sII9sBBIHHBB3sBBHIHH")
_CBR: Final = 1  # tag revision 0, VBR method 1 (constant bitrate)
_TAG_CRC_AT: Final = _TAG.size - 2
# As large as LAME's own Info frame, so a player's tag parser never reads past ours.
_INFO_FRAME_MIN_BYTES: Final = 192


class Mp3Encoder:
    def __init__(
        self, sample_rate: int, channels: int = 1, bitrate_kbps: int = 32, quality: int = 5
    ) -> None:
        if sample_rate not in (*_MPEG1_RATES, *_MPEG2_RATES, *_MPEG25_RATES):
            raise ValueError(f"MP3 has no {sample_rate} Hz sample rate")
        if channels not in (1, 2):
            raise ValueError(f"1 or 2 channels, not {channels}")
        kbps = _MPEG1_KBPS if sample_rate in _MPEG1_RATES else _MPEG2_KBPS
        if bitrate_kbps not in kbps[1:]:
            raise ValueError(f"{bitrate_kbps} kbit/s is not an MP3 bitrate at {sample_rate} Hz")
        if not 0 <= quality <= 9:
            raise ValueError(f"quality is 0 (best) to 9 (fastest), not {quality}")
        self.sample_rate, self.channels, self.bitrate_kbps = sample_rate, channels, bitrate_kbps
        self._lame = lameenc.Encoder()
        self._lame.set_in_sample_rate(sample_rate)
        # Pinned, or LAME resamples low bitrates down and the stream's rate surprises the caller.
        self._lame.set_out_sample_rate(sample_rate)
        self._lame.set_channels(channels)
        self._lame.set_bit_rate(bitrate_kbps)
        self._lame.set_quality(quality)
        self._samples = 0  # per channel
        self._frames = _FrameCounter()
        self._bytes = 0
        self._first_header: bytes | None = None
        self._flushed = False

    def encode(self, pcm: NDArray[np.int16]) -> bytes:
        """Encode int16 samples (interleaved left, right, … for two channels)."""
        if self._flushed:
            raise ValueError("encoder already flushed")
        data = np.ascontiguousarray(pcm, dtype=np.int16).reshape(-1)
        if len(data) % self.channels:
            raise ValueError(f"{len(data)} samples do not split into {self.channels} channels")
        if not len(data):
            return b""
        self._samples += len(data) // self.channels
        return self._emit(bytes(self._lame.encode(data.tobytes())))

    def flush(self) -> bytes:
        """The stream's last frames; the encoder takes no more input afterwards."""
        self._flushed = True
        if not self._samples:  # lameenc refuses to flush an encoder that never saw input
            return b""
        return self._emit(bytes(self._lame.flush()))

    def info_frame(self) -> bytes:
        """The finished Info frame: write it over the placeholder that starts the stream (same
        size) to make decoders trim the padding too and report the exact duration."""
        if not self._flushed or self._first_header is None:
            raise ValueError("the Info frame is complete only after flush() of a non-empty stream")
        return self._info_frame(self._frames.count)

    def _emit(self, out: bytes) -> bytes:
        if not out:
            return out
        self._frames.feed(out)
        self._bytes += len(out)
        if self._first_header is None:
            self._first_header = out[:4]
            return self._info_frame(0) + out
        return out

    def _info_frame(self, frames: int) -> bytes:
        assert self._first_header is not None
        header, size, spf = _info_header(self._first_header)
        mono = (header[3] >> 6) == 3
        side = (17 if mono else 32) if spf == 1152 else (9 if mono else 17)
        padding = max(frames * spf - ENCODER_DELAY - self._samples, 0) if frames else 0
        frame = bytearray(size)
        frame[:4] = header
        music_bytes = self._bytes + size if frames else 0
        tag = _TAG.pack(
            b"Info", 0x1, frames, b"LAME3.100", _CBR, 0, 0, 0, 0, 0, min(self.bitrate_kbps, 255),
            ((ENCODER_DELAY << 12) | min(padding, 0xFFF)).to_bytes(3, "big"),
            0, 0, 0, music_bytes, 0, 0,
        )  # fmt: skip
        frame[4 + side : 4 + side + _TAG.size] = tag
        crc_at = 4 + side + _TAG_CRC_AT  # the CRC covers every byte of the frame before it
        frame[crc_at : crc_at + 2] = _crc16(bytes(frame[:crc_at])).to_bytes(2, "big")
        return bytes(frame)


def _parse_header(header: bytes) -> tuple[int, int, int]:
    """(frame size in bytes, samples per frame, sample rate) of an MPEG audio Layer III header."""
    b1, b2 = header[1], header[2]
    if header[0] != 0xFF or b1 & 0xE0 != 0xE0 or (b1 >> 1) & 3 != 1:
        raise ValueError(f"not an MPEG Layer III frame header: {header.hex()}")
    version = (b1 >> 3) & 3
    rate = _VERSION_BITS[version][(b2 >> 2) & 3]
    kbps = (_MPEG1_KBPS if version == 3 else _MPEG2_KBPS)[b2 >> 4]
    spf = 1152 if version == 3 else 576
    return spf // 8 * kbps * 1000 // rate + ((b2 >> 1) & 1), spf, rate


def _info_header(first: bytes) -> tuple[bytes, int, int]:
    """The stream's own header with no CRC, no padding and a bitrate whose frame fits the tag."""
    version = (first[1] >> 3) & 3
    kbps = _MPEG1_KBPS if version == 3 else _MPEG2_KBPS
    for index in range(1, len(kbps)):
        header = bytes([first[0], first[1] | 1, (index << 4) | (first[2] & 0x0C), first[3]])
        size, spf, _ = _parse_header(header)
        if size >= _INFO_FRAME_MIN_BYTES:
            return header, size, spf
    return header, size, spf


def _crc16(data: bytes) -> int:
    """CRC-16/ARC, the checksum of the LAME tag."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


class _FrameCounter:
    """Counts the frames of an MPEG audio stream fed in arbitrary pieces."""

    def __init__(self) -> None:
        self.count = 0
        self._skip = 0  # bytes of the current frame still to come
        self._partial = b""  # the start of a header cut by a piece boundary

    def feed(self, data: bytes) -> None:
        if self._skip >= len(data):
            self._skip -= len(data)
            return
        buf = self._partial + data[self._skip :]
        pos = 0
        while pos + 4 <= len(buf):
            size, _, _ = _parse_header(buf[pos : pos + 4])
            self.count += 1
            pos += size
        self._skip = max(pos - len(buf), 0)
        self._partial = buf[pos:]
