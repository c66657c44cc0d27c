"""SIP over UDP for the user agent: one socket shared by any number of calls.

Requests we send run as client transactions (``client_transactions.py``: Timers A/B, E/F, the
ACK of a non-2xx final, CANCEL); requests we receive go through the server's transaction layer
(``transactions.py``: retransmissions answered again, final INVITE responses retransmitted
until the ACK, CANCEL → 487), then to the call with that Call-ID, or, for a new INVITE, to
``on_invite``. Dialog state is ``dialog.py``'s.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

from callrec.telephony.client_transactions import (
    ClientTransaction,
    ClientTransactions,
    Destination,
    OnResponse,
    new_branch,
)
from callrec.telephony.dialog import Dialog
from callrec.telephony.sip import SipParseError, SipRequest, SipResponse, parse_message
from callrec.telephony.transactions import ServerTransaction, TransactionLayer
from callrec.telephony.transport import Address, Peer

__all__ = ["CallHandler", "SipEndpoint", "new_branch", "new_tag"]


def new_tag() -> str:
    return secrets.token_hex(5)


class CallHandler(Protocol):
    """A call on the endpoint: it gets the requests of its dialog."""

    def on_request(self, tx: ServerTransaction) -> Awaitable[None]: ...


@dataclass(eq=False)
class SipEndpoint(asyncio.DatagramProtocol):
    host: str = "127.0.0.1"
    on_invite: Callable[[ServerTransaction], Awaitable[None]] | None = None
    calls: dict[str, CallHandler] = field(default_factory=dict)
    transport: asyncio.DatagramTransport | None = None
    clients: ClientTransactions = field(default_factory=ClientTransactions)
    _layer: TransactionLayer | None = None

    @classmethod
    async def open(cls, host: str = "127.0.0.1", port: int = 0) -> SipEndpoint:
        loop = asyncio.get_running_loop()
        _, endpoint = await loop.create_datagram_endpoint(
            lambda: cls(host), local_addr=(host, port)
        )
        return endpoint

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    @property
    def contact(self) -> str:
        """``<sip:ua@host:port>``: where requests in our dialogs reach us."""
        return f"<sip:ua@{self.host}:{self.port}>"

    def via(self) -> str:
        return f"SIP/2.0/UDP {self.host}:{self.port};branch={new_branch()};rport"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio's, so no isinstance check here.
        self.transport = cast(asyncio.DatagramTransport, transport)
        self._layer = TransactionLayer(self._dispatch, new_tag)
        self._layer.on_response = self._on_response

    async def close(self) -> None:
        self.clients.close()
        if self._layer is not None:
            await self._layer.close()
        if self.transport is not None:
            self.transport.close()

    def _on_response(self, response: SipResponse, peer: Peer) -> None:
        self.clients.on_response(response)  # one no transaction waits for is dropped

    def send(self, data: bytes, target: Address) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, target)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip():
            return  # keep-alive
        try:
            message = parse_message(data)
        except SipParseError:
            return
        peer = Peer("UDP", (addr[0], addr[1]), lambda out: self.send(out, addr))
        assert self._layer is not None
        self._layer.on_message(message, peer)

    def destination(self, target: Address) -> Destination:
        return Destination(target, lambda data: self.send(data, target))

    def start(
        self, request: SipRequest, target: Address, on_response: OnResponse | None = None
    ) -> ClientTransaction:
        return self.clients.send(request, self.destination(target), on_response)

    async def transact(self, request: SipRequest, target: Address) -> SipResponse:
        """Send ``request``; its final response (a local 408 when nothing came back)."""
        return await self.start(request, target).final

    async def send_in(
        self, dialog: Dialog, method: str, headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> SipResponse:  # fmt: skip
        """A request in ``dialog`` and its final response."""
        target = dialog.destination()
        if target is None:
            raise ValueError(f"dialog {dialog.call_id}: no address for its remote target")
        return await self.transact(dialog.request(method, self.via(), headers, body), target)

    async def _dispatch(self, tx: ServerTransaction) -> None:
        call = self.calls.get(tx.request.call_id)
        if call is not None:
            await call.on_request(tx)
        elif tx.request.method == "INVITE" and self.on_invite is not None:
            await self.on_invite(tx)
        elif tx.request.method == "OPTIONS":
            tx.reply(200, headers=[("Allow", "INVITE, ACK, BYE, CANCEL, INFO, OPTIONS")])
        else:
            tx.reply(481)
