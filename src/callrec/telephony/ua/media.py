"""One RTP leg of a user agent: a socket that records every packet it receives (arrival time,
header, payload) and sends real-time 20 ms G.711 frames once it knows where to, with RFC 4733
key presses in place of the audio while a key is down.

A key press (RFC 4733 §2.5) is a run of packets that all carry the timestamp of the press's first
frame: the first with the marker bit, then one update per 20 ms with the duration so far, then
the final duration with the E bit, three times. Each packet takes one 20 ms slot of the stream
and its own sequence number; the audio after the press goes on at the timestamp of its slot.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple, cast

import numpy as np
from numpy.typing import NDArray

from callrec.media import g711
from callrec.media.dtmf import DIGITS, Digit, DtmfDetector, DtmfEvent
from callrec.media.rtp import RtpError, parse_header
from callrec.media.synth import FRAME
from callrec.telephony.ua.audio import Monotonic, Pcm, pace

Address = tuple[str, int]
_HEADER = struct.Struct("!BBHII")
_VOLUME = 10  # -10 dBm0, a typical keypad level
_END_REPEATS = 3


LegFactory = Callable[[str, "Pcm | None"], Awaitable["RtpLeg"]]


class Received(NamedTuple):
    at: float  # monotonic seconds
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes
    source: Address


@dataclass(frozen=True)
class Codec:
    """What the offer/answer settled: the audio payload type (0 PCMU, 8 PCMA) and the
    telephone-event payload type (None: the peer takes no RFC 4733 digits)."""

    payload_type: int = g711.PT_PCMU
    dtmf_payload_type: int | None = 101


def event_payloads(digit: str, frames: int) -> list[tuple[bytes, bool]]:
    """The telephone-event payloads (and marker bits) of one press of ``frames`` times 20 ms."""
    if digit not in DIGITS or frames < 1:
        raise ValueError(f"cannot send key {digit!r} for {frames} frames")
    event = DIGITS.index(digit)
    updates = [
        (DtmfEvent(event, False, _VOLUME, n * FRAME).serialize(), n == 1)
        for n in range(1, frames + 1)
    ]
    end = DtmfEvent(event, True, _VOLUME, frames * FRAME).serialize()
    return [*updates, *[(end, False)] * _END_REPEATS]


@dataclass(eq=False)
class RtpLeg(asyncio.DatagramProtocol):
    """Receives everything sent to its port; sends once ``send_to`` names the peer."""

    audio: Pcm | None = None
    clock: Monotonic = time.monotonic
    received: list[Received] = field(default_factory=list)
    remote: Address | None = None
    codec: Codec = field(default_factory=Codec)
    audio_on: bool = False  # frames of ``audio`` go out (else only key presses do)
    sent: int = 0
    transport: asyncio.DatagramTransport | None = None
    _ssrc: int = field(default_factory=lambda: int.from_bytes(secrets.token_bytes(4), "big"))
    _seq: int = field(default_factory=lambda: secrets.randbelow(0x10000))
    _ts_base: int = field(default_factory=lambda: secrets.randbelow(1 << 32))
    _events: collections.deque[tuple[bytes, bool, int, asyncio.Future[None] | None]] = field(
        default_factory=collections.deque
    )
    _talkspurt: bool = True
    _audio_start: int | None = None  # the tick the audio began: its frame 0
    _event_ts: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _sender: asyncio.Task[int] | None = None

    @classmethod
    async def open(cls, host: str = "127.0.0.1", audio: Pcm | None = None) -> RtpLeg:
        loop = asyncio.get_running_loop()
        _, leg = await loop.create_datagram_endpoint(lambda: cls(audio), local_addr=(host, 0))
        return leg

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    @property
    def ssrc(self) -> int:
        return self._ssrc

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio's, so no isinstance check here.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            pt, seq, ts, ssrc, start, end = parse_header(data)
        except RtpError:
            return  # RTCP or noise: not part of what this leg heard
        marker = data[1] > 127
        source = (addr[0], addr[1])
        self.received.append(
            Received(self.clock(), pt, seq, ts, ssrc, marker, data[start:end], source)
        )

    def send_to(self, remote: Address, codec: Codec) -> None:
        """Start the real-time sender towards ``remote`` (again: only the target changes)."""
        self.remote, self.codec = remote, codec
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(
                pace(None, self._tick, self.clock, self._stop)
            )

    def press(self, digit: str, frames: int = 8) -> asyncio.Future[None]:
        """Queue an RFC 4733 key press (default 160 ms); the future completes when its last end
        packet is sent. Needs a telephone-event payload type and a running sender."""
        if self.codec.dtmf_payload_type is None or self._sender is None:
            raise RuntimeError("no telephone-event negotiated, or nowhere to send it yet")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        payloads = event_payloads(digit, frames)
        for n, (payload, marker) in enumerate(payloads):
            self._events.append((payload, marker, n, done if n == len(payloads) - 1 else None))
        return done

    async def close(self) -> None:
        self._stop.set()
        if self._sender is not None:
            await self._sender
        if self.transport is not None:
            self.transport.close()

    def _tick(self, frame: int) -> None:
        ts = (self._ts_base + frame * FRAME) & 0xFFFFFFFF
        if self._events:
            payload, marker, n, done = self._events.popleft()
            self._event_ts = ts if n == 0 else self._event_ts
            dtmf_pt = self.codec.dtmf_payload_type
            assert dtmf_pt is not None
            self._send(dtmf_pt, marker, self._event_ts, payload)
            self._talkspurt = True
            if done is not None and not done.done():
                done.set_result(None)
        elif self.audio_on and self.audio is not None:
            if self._audio_start is None:
                self._audio_start = frame  # after early media, the track starts at the answer
            pt = self.codec.payload_type
            payload = g711.encode(pt, self.audio.frame(frame - self._audio_start))
            self._send(pt, self._talkspurt, ts, payload)
            self._talkspurt = False

    def _send(self, pt: int, marker: bool, ts: int, payload: bytes) -> None:
        if self.transport is None or self.remote is None or self.transport.is_closing():
            return
        self._seq = (self._seq + 1) & 0xFFFF
        b1 = (0x80 if marker else 0) | pt
        self.transport.sendto(
            _HEADER.pack(0x80, b1, self._seq, ts, self._ssrc) + payload, self.remote
        )
        self.sent += 1

    # What was heard, for tests and the demo's checks.

    def audio_packets(self, ssrc: int | None = None) -> list[Received]:
        return [
            r
            for r in self.received
            if r.payload_type in g711.DECODE_TABLES and (ssrc is None or r.ssrc == ssrc)
        ]

    def heard(self, ssrc: int | None = None) -> NDArray[np.int16]:
        """The G.711 audio received, decoded, in arrival order (gaps are not filled)."""
        packets = self.audio_packets(ssrc)
        if not packets:
            return np.zeros(0, np.int16)
        return np.concatenate([g711.decode(r.payload_type, r.payload) for r in packets])

    def digits(self, payload_type: int = 101) -> list[Digit]:
        """The RFC 4733 key presses received, each once."""
        detector = DtmfDetector()
        found: list[Digit] = []
        for r in self.received:
            if r.payload_type == payload_type:
                found += detector.feed(r.timestamp, r.marker, r.payload)
        return [*found, *detector.flush()]
