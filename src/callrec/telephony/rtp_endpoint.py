"""RTP sockets: a port pool handing out consecutive even ports per call (SBCs, and SIPp's pcap
play, send a call's streams to P, P+2, …), and a receiving endpoint per stream that latches
its source and drops packets from anyone else, so nobody can inject audio into a recording."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

Sink = Callable[[bytes, float], None]


class PortPool:
    def __init__(self, first: int, last: int) -> None:
        if first % 2:
            first += 1
        if not 1024 <= first < last <= 65535:
            raise ValueError(f"bad RTP port range {first}-{last}")
        self.first, self.last = first, last
        self.in_use: set[int] = set()
        self._next = first

    def reserve(self, count: int) -> int:
        """A base port with ``count`` free even ports from it (base, base+2, …)."""
        span = 2 * count
        size = self.last - self.first + 1
        for _ in range(size // 2):
            base = self._next
            self._next = base + 2 if base + 2 + span <= self.last else self.first
            ports = range(base, base + span, 2)
            if base + span - 1 <= self.last and not self.in_use.intersection(ports):
                self.in_use.update(ports)
                return base
        raise RuntimeError("no free RTP ports in the configured range")

    def release(self, base: int, count: int) -> None:
        self.in_use.difference_update(range(base, base + 2 * count, 2))


@dataclass
class RtpEndpoint(asyncio.DatagramProtocol):
    """Receives one stream. The first source to send is latched unless the SDP named one (an
    SBC may send from a port other than the one it announced, so the IP is what must match)."""

    sink: Sink
    started: float
    expected_ip: str | None = None
    source: tuple[str, int] | None = None
    received: int = 0
    foreign: int = 0
    last_packet: float = field(default_factory=time.monotonic)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio's, so no isinstance check here.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        # Per packet: an IPv4 address equals the latched (host, port) as it comes, so nothing
        # is built; IPv6 addresses (4-tuples) and anything not yet latched take the long way.
        if addr != self.source:
            source = (addr[0], addr[1])
            if self.source is None:
                if self.expected_ip is not None and source[0] != self.expected_ip:
                    self.foreign += 1
                    return
                self.source = source
            elif source != self.source:
                self.foreign += 1
                return
        now = time.monotonic()
        self.last_packet = now
        self.received += 1
        self.sink(data, now - self.started)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_endpoint(host: str, port: int, endpoint: RtpEndpoint) -> RtpEndpoint:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # A bigger receive buffer absorbs bursts while the loop is busy elsewhere.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()  # a port taken by another process: no socket left behind
        raise
    await loop.create_datagram_endpoint(lambda: endpoint, sock=sock)
    return endpoint
