"""Render a CREC capture to per-leg and mixed PCM, one bounded window at a time.

The index (a few bytes per record) is the only thing proportional to the call's length held in
memory; payloads are read per window, so a 4-hour call renders in the same memory as a 1-minute
one. Each leg's records are ordered by timeline offset and made disjoint first, which turns
"where does this window's audio come from" into two binary searches.

G.711 records are stateless and decode by table lookup, window by window. G.722 records are
ADPCM, where every byte depends on the ones before it, so a leg's G.722 records are decoded once
each, in timeline order, through one decoder kept for the whole leg (``media.g722``); a window
decodes a little past its end because the 16 → 8 kHz filter looks ahead. A leg may mix both
families (a re-INVITE changing codec): each record is rendered by its own family at its own place.
A call that is G.722 throughout can keep its 16 kHz audio instead (``render_at_native_rate``).
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callrec.media.capture import CaptureIndex, read_index
from callrec.media.chunk import LegChunk, mix
from callrec.media.decode import AudioDecodeError, decode_file
from callrec.media.errors import CaptureFormatError
from callrec.media.g711 import ALAW_TO_PCM, PT_PCMA, ULAW_TO_PCM
from callrec.media.g722 import LOOKAHEAD, PT_G722, WIDEBAND_RATE, G722Decoder, WidebandLeg

__all__ = [
    "AudioDecodeError",
    "LegChunk",
    "decode_file",
    "render_at_native_rate",
    "render_capture",
]

# Payload bytes of different records closer than this in the file are fetched in one read: it
# swallows the other leg's interleaved records without letting a far-off late packet turn one
# window's read into a read of half the file.
_MERGE_GAP: Final = 4096
# μ-law codes at 0..255, A-law at 256..511, for windows where a leg changes codec.
_BOTH_TABLES: Final = np.concatenate([ULAW_TO_PCM, ALAW_TO_PCM])
_PLAN_SLICE: Final = 1 << 16


@dataclass(frozen=True, slots=True)
class _LegPlan:
    """One leg's records sorted by offset and trimmed so no two overlap (earlier offset wins).

    About 19 bytes a record (a 4-hour two-leg call: 27 MB), the only per-call memory left once
    the index is dropped.
    """

    start: NDArray[np.int64]
    length: NDArray[np.uint16]
    file_pos: NDArray[np.int64]
    payload_type: NDArray[np.uint8]

    @classmethod
    def build(cls, index: CaptureIndex, leg: int) -> _LegPlan:
        mine = np.flatnonzero(index.leg == leg)
        # Stable, so among records at the same offset the first to arrive comes first and wins.
        order = mine[np.argsort(index.offset[mine], kind="stable")]
        del mine
        n = len(order)
        start, length = np.empty(n, np.int64), np.empty(n, np.uint16)
        file_pos, payload_type = np.empty(n, np.int64), np.empty(n, np.uint8)
        kept = 0
        covered = 0  # the timeline up to here already has audio from earlier records
        # In slices so the temporaries stay small next to the plan itself.
        for i in range(0, n, _PLAN_SLICE):
            rows = order[i : i + _PLAN_SLICE]
            first = index.offset[rows].astype(np.int64)
            end = first + index.length[rows]
            before = np.maximum.accumulate(np.concatenate([[covered], end]))
            covered = int(before[-1])
            trimmed = np.maximum(first, before[:-1])
            keep = end > trimmed
            k = int(np.count_nonzero(keep))
            start[kept : kept + k] = trimmed[keep]
            length[kept : kept + k] = (end - trimmed)[keep]
            file_pos[kept : kept + k] = (index.file_pos[rows] + (trimmed - first))[keep]
            payload_type[kept : kept + k] = index.payload_type[rows][keep]
            kept += k
        return cls(start[:kept], length[:kept], file_pos[:kept], payload_type[:kept])

    def only(self, keep: NDArray[np.bool_]) -> _LegPlan:
        """The records where ``keep`` is true (still sorted and disjoint)."""
        if keep.all():
            return self
        return _LegPlan(self.start[keep], self.length[keep], self.file_pos[keep],
                        self.payload_type[keep])  # fmt: skip

    @property
    def timeline_end(self) -> int:
        return int(self.start[-1]) + int(self.length[-1]) if len(self.start) else 0

    def window(self, begin: int, stop: int) -> slice:
        """The records overlapping ``[begin, stop)``: starts are sorted and spans are disjoint,
        so only the last record starting at or before ``begin`` can reach into the window."""
        lo = max(int(np.searchsorted(self.start, begin, side="right")) - 1, 0)
        if lo < len(self.start) and self.start[lo] + self.length[lo] <= begin:
            lo += 1
        hi = int(np.searchsorted(self.start, stop, side="left"))
        return slice(lo, max(lo, hi))


@dataclass(slots=True)
class _Leg:
    """A leg's records split by codec family, with the G.722 decoding state carried between
    windows: ``cursor`` is the first G.722 record not yet decoded."""

    narrow: _LegPlan  # G.711
    wide: _LegPlan  # G.722
    decoder: G722Decoder | None = None
    wideband: WidebandLeg | None = None
    cursor: int = 0

    @classmethod
    def build(cls, index: CaptureIndex, leg: int) -> _Leg:
        plan = _LegPlan.build(index, leg)
        wide = plan.payload_type == PT_G722
        if not wide.any():
            return cls(plan, plan.only(wide))
        if index.header.sample_rate != 8000:
            raise CaptureFormatError(
                f"G.722 records need an 8000 Hz timeline, the header says "
                f"{index.header.sample_rate} Hz"
            )
        return cls(plan.only(~wide), plan.only(wide), G722Decoder(), WidebandLeg())

    @property
    def timeline_end(self) -> int:
        return max(self.narrow.timeline_end, self.wide.timeline_end)

    def wide_span(self, stop: int) -> slice:
        """The G.722 records to decode before samples up to ``stop`` can be handed out: all not
        yet decoded that start before ``stop`` plus the decimation filter's look-ahead."""
        hi = int(np.searchsorted(self.wide.start, stop + LOOKAHEAD, side="left"))
        return slice(self.cursor, max(self.cursor, hi))


def render_capture(path: str | os.PathLike[str], window_s: float = 30.0) -> Iterator[LegChunk]:
    """Yield the capture's full timeline in windows of ``window_s`` (the last may be shorter),
    at the timeline's own rate (the header's, 8 kHz from the SIP recorder).

    Every leg gets an array in every chunk; where a leg has no packets (hold, loss, before it
    joined) it is silent, and the timeline always runs to the end of the last record of any leg.
    The capture is indexed here, so a malformed one raises ``CaptureFormatError`` right away.
    """
    return _open(path, window_s, keep_wideband=False)[1]


def render_at_native_rate(
    path: str | os.PathLike[str], window_s: float = 30.0
) -> tuple[int, Iterator[LegChunk]]:
    """Like ``render_capture``, but a call that is G.722 throughout stays wideband: when every
    record of every leg is G.722 the chunks come at 16 kHz (``LegChunk.start`` and lengths in
    16 kHz samples). Returns the rate with the chunks; any other capture renders as there."""
    return _open(path, window_s, keep_wideband=True)


def _open(
    path: str | os.PathLike[str], window_s: float, keep_wideband: bool
) -> tuple[int, Iterator[LegChunk]]:
    if window_s <= 0:
        raise ValueError(f"window_s must be positive, not {window_s}")
    index = read_index(path)
    rate = index.header.sample_rate
    window = max(1, round(window_s * rate))
    legs = [_Leg.build(index, leg) for leg in range(len(index.header.legs))]
    wideband = keep_wideband and len(index) > 0 and bool(np.all(index.payload_type == PT_G722))
    # The index is dropped here: the plans are all rendering needs.
    return (WIDEBAND_RATE if wideband else rate), _render(path, legs, window, wideband)


def _render(
    path: str | os.PathLike[str], legs: list[_Leg], window: int, wideband: bool
) -> Iterator[LegChunk]:
    """``wideband``: every record is G.722 and the legs are handed out at 16 kHz."""
    total = max(leg.timeline_end for leg in legs)
    plans = [leg.narrow for leg in legs] + [leg.wide for leg in legs]
    scale = 2 if wideband else 1
    with open(path, "rb", buffering=0) as f:
        for begin in range(0, total, window):
            stop = min(begin + window, total)
            spans = [leg.narrow.window(begin, stop) for leg in legs]
            spans += [leg.wide_span(stop) for leg in legs]
            buffer, where = _read_payloads(f, plans, spans)
            rendered = tuple(
                _render_mixed(leg, spans[i], spans[len(legs) + i], buffer,
                              where[i], where[len(legs) + i], begin, stop, wideband)
                for i, leg in enumerate(legs)
            )  # fmt: skip
            yield LegChunk(start=begin * scale, legs=rendered, mono=mix(rendered))


def _render_mixed(
    leg: _Leg, narrow: slice, wide: slice, buffer: NDArray[np.uint8],
    narrow_pos: NDArray[np.int64], wide_pos: NDArray[np.int64], begin: int, stop: int,
    wideband: bool,
) -> NDArray[np.int16]:  # fmt: skip
    if leg.decoder is None or leg.wideband is None:
        if wideband:  # a leg without a single packet in an all-G.722 call
            return np.zeros(2 * (stop - begin), np.int16)
        return _render_leg(leg.narrow, narrow, buffer, narrow_pos, begin, stop)
    out = _render_wide(leg, leg.decoder, leg.wideband, wide, buffer, wide_pos, begin, stop,
                       wideband)  # fmt: skip
    if not len(leg.narrow.start):
        return out
    # The families' records are disjoint: the (saturating) sum puts each where it belongs.
    return mix([_render_leg(leg.narrow, narrow, buffer, narrow_pos, begin, stop), out])


def _render_wide(
    leg: _Leg, decoder: G722Decoder, wideband: WidebandLeg, span: slice,
    buffer: NDArray[np.uint8], pos: NDArray[np.int64], begin: int, stop: int, at_16k: bool,
) -> NDArray[np.int16]:  # fmt: skip
    """Decode the leg's next G.722 records as one stream, then hand out ``begin .. stop``."""
    start = leg.wide.start[span]
    if len(start):
        lengths = leg.wide.length[span].astype(np.int64)
        codes = buffer[_ranges(pos, lengths)]
        wideband.add(start, lengths, decoder.decode(codes.tobytes()))
        leg.cursor = span.stop
    return wideband.take_wide(begin, stop) if at_16k else wideband.take(begin, stop)


def _read_payloads(
    f: io.FileIO, plans: list[_LegPlan], spans: list[slice]
) -> tuple[NDArray[np.uint8], list[NDArray[np.int64]]]:
    """Fetch every payload the window needs in as few reads as sensible.

    Returns one buffer and, per leg, where each selected record's payload starts in it.
    """
    starts = np.concatenate([plan.file_pos[span] for plan, span in zip(plans, spans, strict=True)])
    ends = np.concatenate(
        [plan.file_pos[span] + plan.length[span] for plan, span in zip(plans, spans, strict=True)]
    )
    if not len(starts):
        return np.zeros(0, np.uint8), [np.zeros(0, np.int64) for _ in plans]
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    # A new read starts wherever a payload begins further than the gap past everything before it.
    first = np.concatenate([[True], s[1:] > reach[:-1] + _MERGE_GAP])
    run_start = s[first]
    run_end = np.maximum.reduceat(e, np.flatnonzero(first))
    run_offset = np.concatenate([[0], np.cumsum(run_end - run_start)])
    buffer = np.empty(int(run_offset[-1]), np.uint8)
    for a, b, at in zip(run_start.tolist(), run_end.tolist(), run_offset.tolist(), strict=False):
        f.seek(a)
        got = f.readinto(buffer.data[at : at + b - a])
        if got != b - a:
            raise OSError(f"capture shrank while rendering: wanted {b - a} bytes at {a}")
    run_of = np.searchsorted(run_start, starts, side="right") - 1
    positions = starts - run_start[run_of] + run_offset[run_of]
    cuts = np.cumsum([0, *(len(plan.start[span]) for plan, span in zip(plans, spans, strict=True))])
    return buffer, [positions[a:b] for a, b in itertools.pairwise(cuts)]


def _render_leg(
    plan: _LegPlan,
    span: slice,
    buffer: NDArray[np.uint8],
    pos: NDArray[np.int64],
    begin: int,
    stop: int,
) -> NDArray[np.int16]:
    start = plan.start[span]
    if not len(start):
        return np.zeros(stop - begin, np.int16)
    alaw = plan.payload_type[span] == PT_PCMA
    # Decode the selected records whole, on an extended stretch that starts at the first one,
    # then cut the window out: only the first and last record can straddle its edges.
    lengths = plan.length[span].astype(np.int64)
    end = start + lengths
    codes = buffer[_ranges(pos, lengths)]
    if alaw.all():
        pcm = ALAW_TO_PCM[codes]
    elif not alaw.any():
        pcm = ULAW_TO_PCM[codes]
    else:
        pcm = _BOTH_TABLES[codes.astype(np.intp) + np.repeat(alaw * 256, lengths)]
    base = int(start[0])
    if np.array_equal(start[1:], end[:-1]):  # no gaps: the records tile the stretch
        stretch = pcm
    else:
        stretch = np.zeros(int(end[-1]) - base, np.int16)
        stretch[_ranges(start - base, lengths)] = pcm
    out = np.zeros(stop - begin, np.int16)
    lo, hi = max(begin, base), min(stop, int(end[-1]))
    out[lo - begin : hi - begin] = stretch[lo - base : hi - base]
    return out


def _ranges(starts: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.intp]:
    """Concatenated ``arange(s, s + n)`` for each pair, without a Python loop."""
    if np.all(lengths == lengths[0]):  # the usual case: every packet is 20 ms
        return (starts[:, None] + np.arange(lengths[0])).reshape(-1)
    firsts = np.cumsum(lengths) - lengths
    return np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum()))
