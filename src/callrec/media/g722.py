"""G.722 (ITU-T, 64 kbit/s) legs for the mixdown: one stateful decoder per leg, its 16 kHz audio
placed on the timeline, and handed out either as it is (a call that is G.722 throughout) or
filtered down to 8 kHz (to be mixed with G.711 legs).

RTP times G.722 with an 8000 Hz clock although it samples at 16 kHz (RFC 3551 §4.5.2 keeps the
mistake of RFC 1890 for compatibility). At 64 kbit/s one payload byte is one such 1/8000 s tick:
it carries a low-band and a high-band code that decode to two 16 kHz samples. So in a CREC
capture a G.722 record's offset and length count 1/8000 s, exactly as a G.711 record's do, and
the timeline, loss and reordering logic needs nothing codec-specific.

ADPCM is stateful: every code is relative to the predictor the codes before it left behind. A
leg is therefore decoded as one stream, its payloads in timeline order through one decoder,
never a packet on its own. Lost packets are skipped, not replaced: the decoder carries on from
the last packet it saw and settles within a few tens of milliseconds (G.722 defines no loss
concealment, and FFmpeg's decoder has none), while the gap itself is silence at its true place.

Decoding uses FFmpeg's ``g722`` decoder through PyAV; it costs about 0.4 ms per second of audio
when fed a window's payloads at once. The codec's own filter delay (11 samples at 16 kHz in the
decoder, under 1 ms) is left in, as it is in any phone that plays the stream.
"""

from __future__ import annotations

from typing import Final

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext
from numpy.typing import NDArray

__all__ = [
    "LOOKAHEAD",
    "PT_G722",
    "WIDEBAND_RATE",
    "G722Decoder",
    "WidebandLeg",
    "decimate_taps",
    "encode",
]

PT_G722: Final = 9
WIDEBAND_RATE: Final = 16000
# Taps either side of the decimation filter's centre, in 16 kHz samples. 81 taps with a Kaiser
# window (beta 6.5) and the cut-off at 3.8 kHz: flat (< 0.01 dB) to 3.4 kHz, the top of the
# telephone band, and at least 70 dB down from 4.4 kHz, so what folds back into the band is
# inaudible next to the 8-bit G.711 legs it is mixed with.
_HALF: Final = 40
_CUTOFF_HZ: Final = 3800.0
_KAISER_BETA: Final = 6.5
# How far past a window's end (in 8 kHz samples) the filter reads: audio that far ahead must be
# decoded before the window can be finished.
LOOKAHEAD: Final = (_HALF + 1) // 2


def decimate_taps() -> NDArray[np.float32]:
    """The symmetric low-pass FIR applied at 16 kHz before every second sample is kept."""
    n = np.arange(-_HALF, _HALF + 1)
    ratio = 2 * _CUTOFF_HZ / WIDEBAND_RATE
    taps = ratio * np.sinc(ratio * n) * np.kaiser(2 * _HALF + 1, _KAISER_BETA)
    result: NDArray[np.float32] = (taps / taps.sum()).astype(np.float32)
    return result


_TAPS: Final = decimate_taps()


class G722Decoder:
    """One leg's decoder: feed it the leg's payloads in timeline order, it keeps the state."""

    def __init__(self) -> None:
        codec = av.CodecContext.create("g722", "r")
        if not isinstance(codec, AudioCodecContext):  # typing: PyAV's stubs do not list g722
            raise TypeError(f"FFmpeg's g722 is not an audio decoder here: {codec!r}")
        self._codec = codec
        self._codec.sample_rate = WIDEBAND_RATE
        self._codec.layout = "mono"

    def decode(self, payload: bytes) -> NDArray[np.int16]:
        """Two 16 kHz samples per payload byte, continuing from the previous call's state."""
        if not payload:
            return np.zeros(0, np.int16)
        frames = self._codec.decode(av.Packet(payload))
        parts = [frame.to_ndarray().reshape(-1) for frame in frames]
        pcm = np.concatenate(parts).astype(np.int16, copy=False) if parts else np.zeros(0, np.int16)
        if len(pcm) != 2 * len(payload):  # FFmpeg's decoder maps bytes to samples one to two
            raise ValueError(f"G.722 decoder gave {len(pcm)} samples for {len(payload)} bytes")
        return pcm


def encode(pcm: NDArray[np.int16]) -> bytes:
    """One whole 16 kHz signal (an even number of samples) to G.722 at 64 kbit/s, one byte per
    sample pair, by a fresh encoder: what a phone sends, for synthetic calls and tests."""
    if len(pcm) % 2:
        raise ValueError(f"G.722 codes sample pairs: {len(pcm)} samples is an odd count")
    if not len(pcm):
        return b""
    codec = av.CodecContext.create("g722", "w")
    if not isinstance(codec, AudioCodecContext):
        raise TypeError(f"FFmpeg's g722 is not an audio encoder here: {codec!r}")
    codec.sample_rate, codec.layout, codec.format = WIDEBAND_RATE, "mono", "s16"
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(pcm, np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate, frame.pts = WIDEBAND_RATE, 0
    data = b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])
    if len(data) != len(pcm) // 2:
        raise ValueError(f"G.722 encoder gave {len(data)} bytes for {len(pcm)} samples")
    return data


class WidebandLeg:
    """A leg's decoded 16 kHz audio on the timeline, handed out at 8 kHz window by window.

    ``add`` places decoded records (timeline offsets in 8 kHz ticks, so sample ``2 * offset`` at
    16 kHz); what no record covers is silence. ``take`` filters and keeps every second sample,
    centred, so an 8 kHz sample lines up with the 16 kHz sample at twice its index: nothing
    moves in time. Only the audio not yet handed out (plus the filter's history) is held.
    """

    def __init__(self) -> None:
        self._origin = 0  # 16 kHz timeline index of _pcm[0]
        self._pcm = np.zeros(0, np.float32)

    def add(
        self, starts: NDArray[np.int64], lengths: NDArray[np.int64], pcm: NDArray[np.int16]
    ) -> None:
        """Place records in one go: record ``i`` starts at ``starts[i]`` (8 kHz ticks), lasts
        ``lengths[i]`` ticks, and its ``2 * lengths[i]`` samples follow the previous record's in
        ``pcm``. Records never overlap (the mixdown's plan has made them disjoint)."""
        if not len(starts):
            return
        wide_starts, wide_lengths = 2 * starts - self._origin, 2 * lengths
        if int(wide_starts.min()) < 0:
            raise ValueError("a record was added before audio already handed out")
        end = int((wide_starts + wide_lengths).max())
        if end > len(self._pcm):
            self._pcm = np.concatenate([self._pcm, np.zeros(end - len(self._pcm), np.float32)])
        self._pcm[_ranges(wide_starts, wide_lengths)] = pcm

    def take_wide(self, begin: int, stop: int) -> NDArray[np.int16]:
        """The 16 kHz samples for the 8 kHz ticks ``begin .. stop`` as decoded, unfiltered. The
        same contract as ``take``; a leg is handed out by one of the two, never both."""
        lo, hi = 2 * begin - self._origin, 2 * stop - self._origin
        if lo < 0:
            raise ValueError(f"samples from {begin} were already handed out")
        out = np.zeros(hi - lo, np.int16)
        have_hi = min(hi, len(self._pcm))
        if have_hi > lo:
            out[: have_hi - lo] = self._pcm[lo:have_hi]
        keep_from = min(hi, len(self._pcm))
        self._pcm = self._pcm[keep_from:]
        self._origin += keep_from
        return out

    def take(self, begin: int, stop: int) -> NDArray[np.int16]:
        """The 8 kHz samples ``begin .. stop`` of the timeline. Every record starting before
        ``stop + LOOKAHEAD`` must have been added; the next call must not start before ``stop``."""
        lo, hi = 2 * begin - _HALF - self._origin, 2 * stop + _HALF - self._origin
        if lo < -_HALF:
            raise ValueError(f"samples from {begin} were already handed out")
        stretch = np.zeros(hi - lo, np.float32)
        have_lo, have_hi = max(lo, 0), min(hi, len(self._pcm))
        if have_hi > have_lo:
            stretch[have_lo - lo : have_hi - lo] = self._pcm[have_lo:have_hi]
        # 'valid' output i is centred on stretch[i + _HALF], the 16 kHz sample 2 * begin + i.
        filtered = np.convolve(stretch, _TAPS, mode="valid")[::2]
        # Keep what the next window's filter reaches back to.
        keep_from = max(0, min(2 * stop - _HALF - self._origin, len(self._pcm)))
        self._pcm = self._pcm[keep_from:]
        self._origin += keep_from
        out: NDArray[np.int16] = np.clip(np.rint(filtered), -32768, 32767).astype(np.int16)
        return out


def _ranges(starts: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.intp]:
    """Concatenated ``arange(s, s + n)`` for each pair, without a Python loop."""
    firsts = np.cumsum(lengths) - lengths
    return np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum()))
