"""The proxy's media plane for one call: an RTP socket facing each party, and what we send each
of them — relayed packets, our own prompts, the beep — as ONE continuous RTP stream per
direction (our SSRC; sequence numbers and timestamps that carry on across prompt → relay →
transfer), so the party's jitter buffer never sees a new source or a jump.

Relaying keeps the sender's timing: a relayed packet's timestamp is the sender's plus an offset
fixed when the source (re)starts, chosen so our stream stays on the wall clock. Our own frames
are placed on the same clock. Everything here runs in the event loop's datagram callbacks, so
it is O(1) per packet: one header parse, one header pack, and for a frame carrying part of a
beep (or needing PCMU↔PCMA) one audioop decode/add/encode.
"""

from __future__ import annotations

import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from callrec.media.beep import BeepMixer, decode_frame, encode_frame
from callrec.media.rtp import RtpError, parse_header
from callrec.telephony.rtp_endpoint import RtpEndpoint
from callrec.telephony.transport import Address

_HEADER: Final = struct.Struct("!BBHII")
_unpack_header: Final = _HEADER.unpack_from
_pack_header: Final = _HEADER.pack
_WRAP: Final = 0xFFFFFFFF
SAMPLES_PER_FRAME: Final = 160
_REANCHOR_SAMPLES: Final = 1600  # a relayed source 200 ms off our clock after a pause: re-place it
_QUIET_S: Final = 0.07  # no packet for three and a half frames: the party is not sending now

# The recorder: (leg index, packet, seconds since the recording started).
Tap = Callable[[int, bytes, float], None]


@dataclass(frozen=True)
class Codec:
    """What one party and we agreed on: its audio payload type (0 PCMU, 8 PCMA) and its
    telephone-event payload type, if any."""

    audio_pt: int
    event_pt: int | None


@dataclass(slots=True)
class Outbound:
    """The RTP stream we send one party."""

    codec: Codec
    send: Callable[[bytes], None]
    ssrc: int = field(default_factory=lambda: secrets.randbits(32))
    seq: int = field(default_factory=lambda: secrets.randbits(15))
    last_ts: int = field(default_factory=lambda: secrets.randbits(31))
    last_len: int = 0
    sent_at: float = field(default_factory=time.monotonic)
    relayed_at: float = 0.0  # when we last relayed the other party's audio
    own_last: bool = False  # the last packet was one of ours (prompt, beep), not relayed
    source: int | None = None  # SSRC of the relayed source the offsets belong to
    ts_offset: int = 0
    seq_offset: int = 0
    beep: BeepMixer | None = None
    tap: Tap | None = None  # the recorder: what this party hears, as its leg ``tap_leg``
    tap_leg: int = 0
    tap_origin: float = 0.0  # when the recording started (monotonic)
    # The recording keeps the beep of one leg only: the two legs' beeps are placed by their own
    # streams' timestamps, and in the mono mix they would add up out of phase (even cancel).
    tap_beep: bool = True
    source_codec: Codec | None = None  # what the other party sends (set by the bridge)
    sent: int = 0

    def expected_ts(self, now: float) -> int:
        """Our timestamp for a packet sent ``now``: on the wall clock, never before the end of
        the last packet sent."""
        elapsed = round((now - self.sent_at) * 8000 / SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME
        return (self.last_ts + max(elapsed, self.last_len)) & _WRAP

    def relay(self, data: bytes, now: float, source_codec: Codec | None = None) -> None:
        """A packet from the other party, re-stamped into our stream (PCMU↔PCMA if needed).
        ``source_codec``: what the other party sends (by default the bridge's ``source_codec``).

        The proxy's hot path, once per relayed packet: the plain 12-byte header is read
        inline, each attribute once, and audioop runs only for a frame inside a beep or
        between codecs; the rare cases (a new or returning source, a timestamp jump, RFC 4733
        events) are in their own methods."""
        source = source_codec or self.source_codec
        try:
            b0, b1, seq, ts, ssrc = _unpack_header(data)
        except struct.error:
            return
        if b0 == 0x80 and b1 < 192:  # no padding, extension or CSRCs, not RTCP: nearly all
            pt, start, end = b1 & 0x7F, 12, len(data)
        else:
            try:
                pt, seq, ts, ssrc, start, end = parse_header(data)
            except RtpError:
                return
        if source is None:
            return
        if pt == source.event_pt or pt != source.audio_pt:
            self._relay_other(pt, b1 & 0x80, seq, ts, ssrc, data[start:end], now, source)
            return
        if ssrc != self.source or self.own_last:
            self._restart(ssrc, seq, ts, now)
        elif now - self.sent_at > 0.1:
            self._check_drift(ssrc, seq, ts, now)
        out_ts = (ts + self.ts_offset) & _WRAP
        out_seq = (seq + self.seq_offset) & 0xFFFF
        out_pt = self.codec.audio_pt
        payload = data[start:end]
        if pt != out_pt:
            payload = encode_frame(out_pt, decode_frame(pt, payload))
        plain = payload
        beep = self.beep
        if beep is not None:
            # Most frames are outside every beep: one modulo says so without a call; a frame
            # near a beep goes to the mixer, which places the tone exactly.
            phase = ((out_ts - beep.origin) & _WRAP) % beep.period
            if phase < beep.length or phase + end - start > beep.period:
                payload = beep.mix(out_pt, payload, out_ts)
        header = _pack_header(0x80, (b1 & 0x80) | out_pt, out_seq, out_ts, self.ssrc)
        packet = header + payload
        if ((out_seq - self.seq) & 0xFFFF) < 0x8000:
            # The newest sent (a reordered older packet does not move it back).
            self.seq, self.last_ts, self.last_len = out_seq, out_ts, len(payload)
            self.sent_at = self.relayed_at = now
        self.own_last = False
        self.sent += 1
        self.send(packet)
        tap = self.tap
        if tap is not None:
            if payload is not plain and not self.tap_beep:
                packet = header + plain
            tap(self.tap_leg, packet, now - self.tap_origin)

    def _restart(self, ssrc: int, seq: int, ts: int, now: float) -> None:
        if ssrc != self.source:
            self._anchor(ssrc, seq, ts, self.expected_ts(now))  # a new source: on our clock
        else:
            # Back from our own frames (a beep while this source was late): carry on right
            # after them, so that no stretch of our timeline is left without a packet.
            self._anchor(ssrc, seq, ts, (self.last_ts + self.last_len) & _WRAP)

    def _check_drift(self, ssrc: int, seq: int, ts: int, now: float) -> None:
        expected = self.expected_ts(now)
        drift = ((ts + self.ts_offset - expected + (1 << 31)) & _WRAP) - (1 << 31)
        if abs(drift) > _REANCHOR_SAMPLES:
            self._anchor(ssrc, seq, ts, expected)  # the sender's timestamps jumped

    def _relay_other(
        self, pt: int, marker: int, seq: int, ts: int, ssrc: int, payload: bytes, now: float,
        source: Codec,
    ) -> None:  # fmt: skip
        """An RFC 4733 event, relayed with its timestamps; anything else (comfort noise, a
        payload type we did not negotiate) is dropped."""
        event_pt = self.codec.event_pt
        if pt != source.event_pt or event_pt is None:
            return  # not negotiated (or the other party cannot take RFC 4733)
        if ssrc != self.source or self.own_last:
            self._restart(ssrc, seq, ts, now)
        out_ts = (ts + self.ts_offset) & _WRAP
        out_seq = (seq + self.seq_offset) & 0xFFFF
        if ((out_seq - self.seq) & 0xFFFF) < 0x8000:
            self.seq = out_seq
        self.own_last = False
        self._emit(_pack_header(0x80, marker | event_pt, out_seq, out_ts, self.ssrc) + payload, now)

    def _anchor(self, ssrc: int, seq: int, ts: int, out_ts: int) -> None:
        """Map this source's ``ts`` to our ``out_ts`` and its ``seq`` to our next one."""
        self.source = ssrc
        self.ts_offset = (out_ts - ts) & _WRAP
        self.seq_offset = (self.seq + 1 - seq) & 0xFFFF

    def own(self, payload: bytes, now: float, marker: bool = False) -> int:
        """Send one frame of ours (G.711 in this party's codec); returns its timestamp. Frames
        sent back to back (a prompt) follow each other exactly."""
        contiguous = self.own_last and now - self.sent_at < 0.06
        ts = ((self.last_ts + self.last_len) & _WRAP) if contiguous else self.expected_ts(now)
        plain = payload
        if self.beep is not None:
            payload = self.beep.mix(self.codec.audio_pt, payload, ts)
        self.seq = (self.seq + 1) & 0xFFFF
        b1 = (0x80 if marker or not contiguous else 0) | self.codec.audio_pt
        header = _HEADER.pack(0x80, b1, self.seq, ts, self.ssrc)
        self.last_ts, self.last_len, self.sent_at, self.own_last = ts, len(payload), now, True
        self._emit(header + payload, now, header + plain)
        return ts

    def beep_only(self, now: float) -> None:
        """While a beep is due: if this party's peer is not sending (hold, silence suppression,
        no audio at all), send the beep on our own so that it is still heard."""
        if self.beep is None or now - self.relayed_at < _QUIET_S or now - self.sent_at < 0.015:
            return  # the peer is sending (its frames carry the beep), or this frame went out
        ts = self.expected_ts(now)
        frame = self.beep.frame(self.codec.audio_pt, ts)
        if frame is not None:
            self.seq = (self.seq + 1) & 0xFFFF
            packet = _HEADER.pack(0x80, self.codec.audio_pt, self.seq, ts, self.ssrc) + frame
            self.last_ts, self.last_len, self.sent_at, self.own_last = ts, len(frame), now, True
            self._emit(packet, now, None)  # nothing but the beep: silence in a beepless tap

    def _emit(self, packet: bytes, now: float, unbeeped: bytes | bool | None = True) -> None:
        """``unbeeped``: the packet without the beep (None: there is nothing else in it), for a
        tap that keeps no beep; True when the packet carries no beep."""
        self.sent += 1
        self.send(packet)
        if self.tap is not None:
            if not self.tap_beep and unbeeped is not True:
                if not isinstance(unbeeped, bytes):
                    return
                packet = unbeeped
            self.tap(self.tap_leg, packet, now - self.tap_origin)


@dataclass
class MediaLeg:
    """Our RTP socket facing one party, and where its RTP must go (from its SDP)."""

    endpoint: RtpEndpoint
    port: int
    codec: Codec
    remote: Address | None = None  # None: not known yet, or on hold at 0.0.0.0
    out: Outbound = field(init=False)
    feeds: Outbound | None = field(default=None, init=False)  # the stream its audio goes into

    def __post_init__(self) -> None:
        self.out = Outbound(self.codec, self._send)

    def _send(self, packet: bytes) -> None:
        transport = self.endpoint.transport
        if transport is not None and self.remote is not None:
            transport.sendto(packet, self.remote)

    def set_codec(self, codec: Codec) -> None:
        self.codec = codec
        self.out.codec = codec
        if self.feeds is not None:
            self.feeds.source_codec = codec

    def relay_into(self, out: Outbound) -> None:
        """What this party sends goes into ``out`` (the other party's stream), straight from
        the socket: no call in between."""
        self.feeds = out
        out.source_codec = self.codec
        self.endpoint.sink = out.relay

    def close(self) -> None:
        self.endpoint.close()

    @property
    def last_packet(self) -> float:
        return self.endpoint.last_packet


class Bridge:
    """Both directions of a connected call: what A sends goes to B and the other way round."""

    def __init__(self, a: MediaLeg, b: MediaLeg) -> None:
        self.a, self.b = a, b
        a.relay_into(b.out)
        b.relay_into(a.out)

    def replace(self, which: str, leg: MediaLeg) -> MediaLeg:
        """A transfer: a new party takes ``which`` side; what we send it carries on in the
        same outgoing stream (sequence and timestamps), so the recording has no seam."""
        old = self.a if which == "a" else self.b
        other = self.b if which == "a" else self.a
        old.endpoint.sink = _drop  # the transferor's late packets go nowhere
        old.feeds = None
        leg.out = old.out
        leg.out.send = leg._send
        leg.out.codec = leg.codec
        leg.out.source = None  # the new party's packets re-anchor
        if which == "a":
            self.a = leg
        else:
            self.b = leg
        leg.relay_into(other.out)
        return old

    def beep_tick(self, now: float) -> None:
        self.a.out.beep_only(now)
        self.b.out.beep_only(now)


def _drop(data: bytes, now: float) -> None:
    return None
