"""SIP over UDP and TCP on one port (asyncio). Bytes in, parsed messages out to a handler,
with a ``Peer`` to answer on. TCP matters for SIPREC: an INVITE with real metadata is larger
than a UDP datagram should be. A malformed message never stalls or crashes the server: it is
answered 400 when enough of it can be read to build a response, else dropped and counted."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from callrec.kit.logging import get_logger
from callrec.telephony.sip import SipMessage, SipParseError, parse_message, parse_stream

log = get_logger("callrec.sip")
Address = tuple[str, int]
_MAX_TCP_BUFFER = 256 * 1024


@dataclass(frozen=True)
class Peer:
    transport: str  # "UDP" or "TCP"
    addr: Address
    send: Callable[[bytes], None]


Handler = Callable[[SipMessage, Peer], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None
        self.malformed = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio's, so no isinstance check here.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip():
            return  # keep-alive
        transport = self.transport
        assert transport is not None
        peer = Peer("UDP", (addr[0], addr[1]), lambda out: transport.sendto(out, addr))
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self.malformed += 1
            _answer_malformed(data, exc, peer)
            return
        self.handler(message, peer)


class SipListener:
    def __init__(self, handler: Handler, host: str, port: int) -> None:
        self.handler, self.host, self.port = handler, host, port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self.handler), local_addr=(self.host, self.port)
        )
        self._udp = transport
        try:
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port)
        except OSError:
            transport.close()  # all or nothing: the port is taken for TCP
            raise

    @property
    def bound_port(self) -> int:
        """The UDP port actually bound (``port`` may be 0: any free port)."""
        if self._udp is None:
            return self.port
        return int(self._udp.get_extra_info("sockname")[1])

    def send_udp(self, data: bytes, addr: Address) -> None:
        """Send a datagram from the listening socket, so that the peer's answers (and its
        requests in the dialog) come back to the address in our Via and Contact."""
        if self._udp is None:
            raise RuntimeError("the SIP listener is not started")
        self._udp.sendto(data, addr)

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")
        peer = Peer("TCP", (addr[0], addr[1]), writer.write)
        buffer = bytearray()
        try:
            while data := await reader.read(65536):
                buffer += data
                try:
                    messages = parse_stream(buffer)
                except SipParseError as exc:
                    _answer_malformed(bytes(buffer), exc, peer)
                    break  # the stream's framing is lost: close it, the peer reconnects
                for message in messages:
                    self.handler(message, peer)
                if len(buffer) > _MAX_TCP_BUFFER:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


_REQUIRED = ("via", "from", "to", "call-id", "cseq")
_HEADER = re.compile(rb"^([A-Za-z-]+)[ \t]*:[ \t]*(.*?)\r?$", re.MULTILINE)
_COMPACT = {b"v": b"via", b"f": b"from", b"t": b"to", b"i": b"call-id"}


def _answer_malformed(data: bytes, error: SipParseError, peer: Peer) -> None:
    """400 with the reason if the headers a response needs can be read (never to a response)."""
    head = data.split(b"\r\n\r\n", 1)[0][:8192]
    if head.startswith(b"SIP/2.0") or head.upper().startswith(b"ACK "):
        return
    found: dict[bytes, list[bytes]] = {}
    for name, value in _HEADER.findall(head):
        key = _COMPACT.get(name.lower(), name.lower())
        found.setdefault(key, []).append(value)
    if any(name.encode() not in found for name in _REQUIRED):
        log.warning("sip.malformed_dropped", peer=peer.addr, error=str(error))
        return
    lines = [b"SIP/2.0 400 Bad Request"]
    lines += [b"Via: " + via for via in found[b"via"]]
    lines += [b"From: " + found[b"from"][0], b"To: " + found[b"to"][0]]
    lines += [b"Call-ID: " + found[b"call-id"][0], b"CSeq: " + found[b"cseq"][0]]
    reason = str(error).replace('"', "'")[:200].encode(errors="replace")
    lines += [b'Warning: 399 callrec "' + reason + b'"', b"Content-Length: 0", b"", b""]
    peer.send(b"\r\n".join(lines))
    log.warning("sip.malformed_answered", peer=peer.addr, error=str(error))
