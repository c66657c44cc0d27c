"""The RTP packet (RFC 3550 §5.1) as a value object, plus a header-only fast path.

Layout, big-endian::

    byte 0   V(2)=2 | P(1) | X(1) | CC(4)       byte 1   M(1) | PT(7)
    u16 sequence | u32 timestamp | u32 SSRC | CC u32 CSRCs
    if X: u16 profile | u16 length in 32-bit words | extension data
    payload | if P: padding, whose last octet counts the padding octets (itself included)

The live path calls ``parse_header`` once per received packet (1,000+ calls per core at ~50 packets
a second per leg), so it validates everything but builds no packet and copies no bytes; the
caller slices the payload only if it keeps it. ``RtpPacket.parse`` is the same validation plus the
value object, for tests, tools and the rare packets that need CSRCs or the extension.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

__all__ = ["RtpError", "RtpExtension", "RtpPacket", "parse_header"]

_HEADER: Final = struct.Struct("!BBHII")
_unpack_header: Final = _HEADER.unpack_from
_unpack_u16: Final = struct.Struct("!H").unpack_from
_EXTENSION_HEAD: Final = struct.Struct("!HH")


class RtpError(ValueError):
    """Bytes that are not a valid RTP packet (or a packet that cannot be serialized)."""


class RtpExtension(NamedTuple):
    """The RFC 3550 §5.3.1 header extension; ``data`` is a whole number of 32-bit words."""

    profile: int
    data: bytes


def parse_header(data: bytes) -> tuple[int, int, int, int, int, int]:
    """Validate an RTP packet and return ``(payload_type, sequence, timestamp, ssrc, start, end)``.

    The payload is ``data[start:end]``: after the CSRC list and the header extension, before the
    padding. Raises ``RtpError`` for anything ``RtpPacket.parse`` would reject.
    """
    try:
        b0, b1, seq, ts, ssrc = _unpack_header(data)
    except struct.error:
        raise RtpError(f"{len(data)} bytes is shorter than the 12-byte RTP header") from None
    if b0 == 0x80 and b1 < 192:
        # No padding, extension or CSRCs, and not RTCP: nearly every audio packet ends here.
        return b1 & 0x7F, seq, ts, ssrc, 12, len(data)
    if b0 >> 6 != 2:
        raise RtpError(f"RTP version {b0 >> 6}, expected 2")
    if 192 <= b1 < 224:
        # RFC 5761 §4: under rtcp-mux, a second byte of 192-223 (M + PT 64-95) is an RTCP packet
        # type (200-204 SR/RR/SDES/BYE/APP, 205-207 feedback and XR), so RTP must not use them.
        raise RtpError(f"RTCP packet (type {b1}), not RTP")
    end = len(data)
    start = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if start + 4 > end:
            raise RtpError("header extension starts past the end of the packet")
        start += 4 + 4 * _unpack_u16(data, start + 2)[0]
    if start > end:
        raise RtpError(f"CSRC list and extension need {start} bytes, the packet has {end}")
    if b0 & 0x20:
        padding = data[-1]
        if padding == 0 or padding > end - start:
            raise RtpError(f"padding count {padding} does not fit a {end - start}-byte payload")
        end -= padding
    return b1 & 0x7F, seq, ts, ssrc, start, end


class RtpPacket(NamedTuple):
    """One RTP packet. ``padding`` counts the padding octets (0: the P bit is clear).

    Padding octets other than the count are re-emitted as zeros by ``serialize``: RFC 3550 gives
    them no meaning, so only their number survives a round trip.
    """

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    padding: int = 0

    @property
    def version(self) -> int:
        return 2

    @property
    def csrc_count(self) -> int:
        return len(self.csrcs)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        pt, seq, ts, ssrc, start, end = parse_header(data)
        b0 = data[0]
        csrcs: tuple[int, ...] = ()
        extension = None
        if b0 & 0x0F:
            csrcs = struct.unpack_from(f"!{b0 & 0x0F}I", data, 12)
        if b0 & 0x10:
            at = 12 + 4 * (b0 & 0x0F)
            profile, words = _EXTENSION_HEAD.unpack_from(data, at)
            extension = RtpExtension(profile, data[at + 4 : at + 4 + 4 * words])
        return cls(
            pt, seq, ts, ssrc, data[start:end], data[1] > 127, csrcs, extension, len(data) - end
        )

    def serialize(self) -> bytes:
        self._check()
        cc = len(self.csrcs)
        b0 = 0x80 | (0x20 if self.padding else 0) | (0x10 if self.extension is not None else 0) | cc
        b1 = (0x80 if self.marker else 0) | self.payload_type
        parts = [_HEADER.pack(b0, b1, self.sequence, self.timestamp, self.ssrc)]
        if cc:
            parts.append(struct.pack(f"!{cc}I", *self.csrcs))
        if self.extension is not None:
            profile, data = self.extension
            parts.append(_EXTENSION_HEAD.pack(profile, len(data) // 4) + data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes((self.padding,)))
        return b"".join(parts)

    def _check(self) -> None:
        if not 0 <= self.payload_type < 128:
            raise RtpError(f"payload type {self.payload_type} does not fit 7 bits")
        if not 0 <= self.sequence < 1 << 16:
            raise RtpError(f"sequence {self.sequence} does not fit 16 bits")
        if not (0 <= self.timestamp < 1 << 32 and 0 <= self.ssrc < 1 << 32):
            raise RtpError("timestamp and SSRC are 32-bit unsigned")
        if len(self.csrcs) > 15 or not all(0 <= c < 1 << 32 for c in self.csrcs):
            raise RtpError("at most 15 CSRCs, each 32-bit unsigned")
        if self.extension is not None:
            profile, data = self.extension
            if not 0 <= profile < 1 << 16 or len(data) % 4 or len(data) > 4 * 0xFFFF:
                raise RtpError("extension: 16-bit profile, data a whole number of 32-bit words")
        if not 0 <= self.padding < 256:
            raise RtpError(f"padding {self.padding} does not fit its 8-bit count")
