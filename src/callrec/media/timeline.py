"""Where each RTP packet of one leg goes on the recording's shared timeline.

The timeline counts samples (8 kHz) from the recording's start; the CREC capture stores each
payload at the offset ``LegTimeline.place`` returns, and rendering fills what is never written
with silence. So loss, hold and reordering need no buffering here: a packet's place follows from
its RTP timestamp alone, once the leg's timestamps are anchored to the timeline.

The anchor comes from arrival time: the first packet of a source goes where (when) it arrived,
``arrival_s`` seconds after the recording started, on the injected clock. Later packets go by
timestamp difference from it, with 32-bit timestamps and 16-bit sequence numbers unwrapped into
unbounded integers. Arrival time is consulted again only as a sanity check, because network jitter
would smear audio if we placed by arrival: a packet whose placement disagrees with its arrival by
more than ``reanchor_after_s`` means the sender's timestamps jumped (some SBCs do on hold/resume),
so the leg is re-anchored there, as it is when the SSRC changes (a transfer, a re-INVITE).

Offer audio packets only. RFC 4733 telephone-event packets repeat their key press's start
timestamp for the whole press, which would look like a jump; they share the audio's sequence
numbers, so a leg with key presses shows them as lost in ``stats``.

This runs per received packet for thousands of legs per core, hence one flat method over a
handful of slots, no allocation beyond ints, and statistics computed only when asked for.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["LegTimeline", "TimelineStats"]

_SEQ_WINDOW: Final = 256  # packets: how far back duplicates are remembered (5 s at 20 ms)
_SEEN_MASK: Final = (1 << _SEQ_WINDOW) - 1
_MAX_DROPOUT: Final = 3000  # RFC 3550 A.1: a forward sequence jump larger than this is a restart
_TS_WRAP: Final = 0xFFFFFFFF
_TS_HALF: Final = 1 << 31


class TimelineStats(NamedTuple):
    """Counts for one leg. ``received + duplicates + dropped`` is every packet offered.

    ``expected`` spans the extended sequence numbers of each source (and of each sequence restart),
    so ``lost`` also counts packets that were dropped as too late to place.
    """

    received: int  # placed on the timeline
    duplicates: int  # a sequence number already placed
    dropped: int  # too late, placed before the recording start, or a sequence jump on probation
    reanchors: int  # SSRC changes and timestamp jumps (the first anchor is not counted)
    expected: int
    lost: int


class LegTimeline:
    """Places one leg's RTP packets on the shared timeline, in the order they arrive."""

    __slots__ = (
        "_bad_seq",
        "_dropped",
        "_duplicates",
        "_end",
        "_expected_before",
        "_origin",
        "_rate",
        "_reanchors",
        "_received",
        "_seen",
        "_seq_base",
        "_seq_max",
        "_skew",
        "_ssrc",
        "_tolerance",
        "_ts_ref",
    )

    def __init__(self, clock_rate: int = 8000, reanchor_after_s: float = 2.0) -> None:
        if clock_rate <= 0 or reanchor_after_s <= 0:
            raise ValueError("clock_rate and reanchor_after_s must be positive")
        self._rate = clock_rate
        self._tolerance = reanchor_after_s * clock_rate  # in samples
        self._ssrc: int | None = None
        self._origin = 0  # timeline offset = extended timestamp - origin
        self._ts_ref = 0  # extended timestamp of the newest packet: the unwrapping reference
        self._skew = 0.0  # arrival minus placement (samples) at the anchor, for the jump check
        self._end = 0  # where the furthest payload placed so far ends
        self._seq_max = 0  # extended sequence number of the newest packet
        self._seq_base = 0  # lowest extended sequence number placed from this source
        self._seen = 0  # bit i: sequence number _seq_max - i has been placed
        self._bad_seq = -1  # RFC 3550 A.1: a big sequence jump is believed when this comes next
        self._expected_before = 0  # packets expected from earlier sources and sequence runs
        self._received = self._duplicates = self._dropped = self._reanchors = 0

    def place(self, ssrc: int, seq: int, ts: int, payload_len: int, arrival_s: float) -> int | None:
        """The timeline offset (in samples) for this packet's payload, or None to drop it."""
        if ssrc != self._ssrc:
            return self._new_source(ssrc, seq, ts, payload_len, arrival_s)
        delta = ((seq - self._seq_max + 0x8000) & 0xFFFF) - 0x8000
        if 0 < delta <= _MAX_DROPOUT:
            newer = True
        elif -_SEQ_WINDOW < delta <= 0:
            if (self._seen >> -delta) & 1:
                self._duplicates += 1
                return None
            newer = False
        elif seq == self._bad_seq:
            # Two packets in a row agree on a new sequence: the sender restarted its numbering.
            self._expected_before += self._seq_max - self._seq_base + 1
            self._seq_max = self._seq_base = seq
            self._seen = 0
            delta = 0
            newer = True
        else:
            # Far behind (too late to tell a duplicate) or far ahead: wait for the next packet.
            self._bad_seq = (seq + 1) & 0xFFFF
            self._dropped += 1
            return None

        ref = self._ts_ref
        ext = ref + ((ts - ref + _TS_HALF) & _TS_WRAP) - _TS_HALF
        offset = ext - self._origin
        late = arrival_s * self._rate - offset - self._skew
        tolerance = self._tolerance
        if not -tolerance <= late <= tolerance:
            if not newer:
                # Late and misplaced by seconds: from before a jump, or simply too late.
                self._dropped += 1
                return None
            self._reanchors += 1
            offset = self._anchor(ts, arrival_s)
            ext = ts
        elif offset < 0:
            self._dropped += 1  # before the recording (or the leg's anchor at its start)
            return None

        if newer:
            self._seen = ((self._seen << delta) | 1) & _SEEN_MASK if delta < _SEQ_WINDOW else 1
            self._seq_max += delta
            self._ts_ref = ext
        else:
            self._seen |= 1 << -delta
            self._seq_base = min(self._seq_base, self._seq_max + delta)
        self._received += 1
        end = offset + payload_len
        if end > self._end:
            self._end = end
        return offset

    @property
    def stats(self) -> TimelineStats:
        expected = self._expected_before
        if self._ssrc is not None:
            expected += self._seq_max - self._seq_base + 1
        return TimelineStats(
            received=self._received,
            duplicates=self._duplicates,
            dropped=self._dropped,
            reanchors=self._reanchors,
            expected=expected,
            lost=expected - self._received,
        )

    def _new_source(
        self, ssrc: int, seq: int, ts: int, payload_len: int, arrival_s: float
    ) -> int | None:
        if self._ssrc is not None:
            self._reanchors += 1
            self._expected_before += self._seq_max - self._seq_base + 1
        self._ssrc = ssrc
        self._seq_max = self._seq_base = seq
        self._seen = 1
        self._bad_seq = -1
        offset = self._anchor(ts, arrival_s)
        self._received += 1
        self._end = max(self._end, offset + payload_len)
        return offset

    def _anchor(self, ts: int, arrival_s: float) -> int:
        """Map ``ts`` to where it arrived, but never back over audio already placed.

        A new source after a transfer, or a stream whose timestamps jumped, continues the leg:
        arrival jitter must not make its first packets overlap the ones before. ``_skew`` keeps
        the resulting difference so that it does not count as a jump on the next packet.
        """
        arrival = arrival_s * self._rate
        offset = max(round(arrival), self._end)
        self._origin = ts - offset
        self._ts_ref = ts
        self._skew = arrival - offset
        return offset
