"""RFC 4733 telephone-event payloads and a detector that turns them into key presses.

The payload is one 4-byte event block::

    u8 event | E(1) R(1) volume(6) | u16 duration (in RTP timestamp units)

A sender reports one key press as a series of packets that all carry the RTP timestamp of the
press's start: the first with the marker bit, updates every packetization interval with a growing
duration, then the final duration with the E bit, sent three times. Any of them may be lost,
duplicated or reordered, so the detector reports each press exactly once, when it can tell that
the press is over.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

__all__ = ["DIGITS", "Digit", "DtmfDetector", "DtmfError", "DtmfEvent"]

# Event codes 0-16 (RFC 4733 §3.2); higher codes are other tones and signals, not key presses.
DIGITS: Final = (*"0123456789*#ABCD", "flash")
_BLOCK: Final = struct.Struct("!BBH")
_WRAP: Final = 0xFFFFFFFF
_HALF: Final = 1 << 31
_NO_DIGITS: Final[tuple[Digit, ...]] = ()


class DtmfError(ValueError):
    """A telephone-event payload that is not one well-formed 4-byte event block."""


class DtmfEvent(NamedTuple):
    event: int
    end: bool
    volume: int  # 0-63: the tone's power in -dBm0
    duration: int  # in RTP timestamp units since the event's start

    @classmethod
    def parse(cls, payload: bytes) -> DtmfEvent:
        # Multiple blocks in one packet (RFC 4733 §2.5.1.5) are rare enough in practice that they
        # are refused rather than guessed at.
        if len(payload) != 4:
            raise DtmfError(f"a telephone-event payload is 4 bytes, not {len(payload)}")
        event, flags, duration = _BLOCK.unpack(payload)
        # The R bit is reserved and receivers must ignore it.
        return cls(event, flags > 127, flags & 0x3F, duration)

    def serialize(self) -> bytes:
        if not (0 <= self.event < 256 and 0 <= self.volume < 64 and 0 <= self.duration < 1 << 16):
            raise DtmfError(f"{self} does not fit event u8, volume 6 bits, duration u16")
        return _BLOCK.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)


class Digit(NamedTuple):
    """A completed key press: ``start_ts`` is its RTP timestamp, the duration in samples."""

    digit: str
    start_ts: int
    duration_samples: int


class DtmfDetector:
    """Reports each key press of one telephone-event stream once, fed packet by packet.

    A press is complete at its first E-bit packet; the two redundant end packets and any late
    update for it are then ignored. If every end packet of a press is lost, the press is reported
    when the next press starts (a new timestamp), with the longest duration seen, or by
    ``flush()`` when the stream ends. Packets older than the current press are stragglers of a
    press already reported and are ignored.
    """

    __slots__ = ("_before", "_duration", "_event", "_open", "_segment", "_start")

    def __init__(self) -> None:
        self._segment: int | None = None  # RTP timestamp of the newest event (segment) seen
        self._start = 0  # RTP timestamp of the press (differs from _segment for long presses)
        self._event = 0
        self._before = 0  # duration of a long press's earlier segments
        self._duration = 0  # longest duration seen in the current segment
        self._open = False  # started, not yet reported

    def feed(self, timestamp: int, marker: bool, payload: bytes) -> tuple[Digit, ...]:
        """Take one telephone-event packet; return the presses it completes (usually none).

        Raises ``DtmfError`` for a malformed payload. Events above 16 are ignored.
        """
        event = DtmfEvent.parse(payload)
        if event.event >= len(DIGITS):
            return _NO_DIGITS
        done = _NO_DIGITS
        if self._segment is not None:
            delta = (timestamp - self._segment) & _WRAP
            if delta == 0:
                if not self._open:
                    return _NO_DIGITS  # a redundant end packet or a late update
                self._duration = max(self._duration, event.duration)
                return (self._finish(),) if event.end else _NO_DIGITS
            if delta >= _HALF:
                return _NO_DIGITS  # older than the current press
            if self._open and self._continues(delta, marker, event.event):
                self._before += delta
                self._segment = timestamp
                self._duration = event.duration
                return (self._finish(),) if event.end else _NO_DIGITS
            if self._open:
                done = (self._finish(),)  # its end packets were all lost
        self._start = self._segment = timestamp
        self._event = event.event
        self._before = 0
        self._duration = event.duration
        self._open = True
        return (*done, self._finish()) if event.end else done

    def flush(self) -> tuple[Digit, ...]:
        """Report a press still open (its end packets lost), e.g. when the stream stops."""
        return (self._finish(),) if self._open else _NO_DIGITS

    def _continues(self, delta: int, marker: bool, event: int) -> bool:
        # RFC 4733 §2.5.1.3: a press longer than the 16-bit duration goes on in a new segment,
        # timestamped where the previous one's duration ran out and sent without the marker bit.
        return not marker and event == self._event and self._duration <= delta <= 0xFFFF

    def _finish(self) -> Digit:
        self._open = False
        return Digit(DIGITS[self._event], self._start, self._before + self._duration)
