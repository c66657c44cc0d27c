"""Client transactions (RFC 3261 §17.1): the requests we send and the responses they get.

- INVITE: retransmitted over UDP on Timer A (T1, doubling) until any response, given up after
  Timer B (64·T1) with a local 408; a non-2xx final is ACKed here (same branch, §17.1.1.3) and
  the ACK re-sent for every retransmission of it during Timer D (32 s). A 2xx ends the
  transaction for the ACK's purposes: its ACK belongs to the dialog (the TU), so every 2xx,
  retransmissions included, goes to ``on_response`` for 64·T1 (RFC 6026's "Accepted" state).
- Other methods: retransmitted on Timer E (T1 doubling to T2; T2 once a provisional came),
  given up after Timer F (64·T1) with a local 408; the final response resolves ``final``.
- CANCEL (§9.1) is built from the INVITE's transaction and sent as a non-INVITE transaction,
  only once a provisional response has arrived (a CANCEL before it could overtake the INVITE).

Over TCP nothing is retransmitted (the transport is reliable), the timeouts stay.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from callrec.kit.logging import get_logger
from callrec.telephony.sip import Headers, SipRequest, SipResponse, reason_phrase
from callrec.telephony.transactions import T1, T2
from callrec.telephony.transport import Address

log = get_logger("callrec.sip")
TIMER_D_S = 32.0


def new_branch() -> str:
    """A branch with the RFC 3261 magic cookie, unique per transaction."""
    return f"z9hG4bK{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Destination:
    """Where a request goes: ``send`` writes bytes to it; ``reliable`` is TCP (no resends)."""

    addr: Address
    send: Callable[[bytes], None]
    reliable: bool = False
    transport: str = "UDP"


OnResponse = Callable[[SipResponse], None]


@dataclass
class ClientTransaction:
    request: SipRequest
    dest: Destination
    on_response: OnResponse
    layer: ClientTransactions
    final_response: SipResponse | None = None
    provisional: SipResponse | None = None
    final: asyncio.Future[SipResponse] = field(init=False)
    _timers: list[asyncio.TimerHandle] = field(default_factory=list)
    _wire: bytes = b""

    def __post_init__(self) -> None:
        self.final = asyncio.get_running_loop().create_future()

    @property
    def key(self) -> tuple[str, str]:
        return (self.request.branch or "", self.request.cseq.method)

    @property
    def is_invite(self) -> bool:
        return self.request.method == "INVITE"

    def start(self) -> None:
        self._wire = self.request.serialize()
        self.dest.send(self._wire)
        loop = asyncio.get_running_loop()
        if not self.dest.reliable:
            self._timers.append(loop.call_later(T1, self._retransmit, T1))
        self._timers.append(loop.call_later(64 * T1, self._timeout))

    def _retransmit(self, interval: float) -> None:
        if self.final_response is not None or (self.is_invite and self.provisional is not None):
            return
        self.dest.send(self._wire)
        # Timer A doubles without a cap; Timer E caps at T2, and sits at T2 after a provisional.
        following = interval * 2 if self.is_invite else min(interval * 2, T2)
        if self.provisional is not None:
            following = T2
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(following, self._retransmit, following))

    def _timeout(self) -> None:
        if self.final_response is not None:
            return
        log.warning("sip.request_timeout", method=self.request.method,
                    call_id=self.request.call_id, dest=self.dest.addr)  # fmt: skip
        self.receive(self._local(408))

    def _local(self, status: int) -> SipResponse:
        """A response we make up ourselves (timeout, transport failure), for the TU to see."""
        headers = Headers()
        for name in ("Via", "From", "To", "Call-ID", "CSeq"):
            headers.add(name, self.request.required(name))
        return SipResponse(status, reason_phrase(status), headers)

    def receive(self, response: SipResponse) -> None:
        if response.status < 200:
            if self.final_response is None:
                self.provisional = response
                self.on_response(response)
            return
        if self.final_response is None:
            self.final_response = response
            self._stop_timers()
            if not self.final.done():
                self.final.set_result(response)
            if self.is_invite and response.status >= 300:
                self._ack_non_2xx(response)
            self.on_response(response)
            self.layer.linger(self, TIMER_D_S if response.status >= 300 else 64 * T1)
            return
        # A retransmitted final response.
        if self.is_invite and response.status >= 300:
            self._ack_non_2xx(response)
        elif self.is_invite and 200 <= response.status < 300:
            self.on_response(response)  # the dialog re-sends its ACK

    def _ack_non_2xx(self, response: SipResponse) -> None:
        """§17.1.1.3: same Request-URI, top Via and CSeq number; the response's To (with tag)."""
        request = self.request
        headers = Headers([("Via", request.required("Via"))])
        for name in ("Route",):
            for value in request.headers.get_all(name):
                headers.add(name, value)
        headers.add("From", request.required("From"))
        headers.add("To", response.required("To"))
        headers.add("Call-ID", request.call_id)
        headers.add("CSeq", f"{request.cseq.number} ACK")
        headers.add("Max-Forwards", "70")
        self.dest.send(SipRequest("ACK", request.uri, headers).serialize())

    def _stop_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def close(self) -> None:
        self._stop_timers()
        if not self.final.done():
            self.final.cancel()


class ClientTransactions:
    """Every client transaction of one SIP endpoint, matched to responses by top-Via branch and
    CSeq method (§17.1.3)."""

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str], ClientTransaction] = {}
        self._lingering: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.stray = 0  # responses that matched no transaction

    def send(
        self, request: SipRequest, dest: Destination, on_response: OnResponse | None = None
    ) -> ClientTransaction:
        if not request.branch:
            raise ValueError("a client request needs a Via with a branch")
        tx = ClientTransaction(request, dest, on_response or _ignore, self)
        self.pending[tx.key] = tx
        tx.start()
        return tx

    def cancel(self, invite: ClientTransaction) -> None:
        """CANCEL a pending INVITE: now if it had a provisional response, else at the first."""
        if invite.final_response is not None:
            return
        if invite.provisional is None:
            original = invite.on_response

            def cancel_on_provisional(response: SipResponse) -> None:
                original(response)
                if response.status < 200 and invite.final_response is None:
                    invite.on_response = original
                    self.cancel(invite)

            invite.on_response = cancel_on_provisional
            return
        request = invite.request
        headers = Headers([("Via", request.required("Via"))])
        for value in request.headers.get_all("Route"):
            headers.add("Route", value)
        for name in ("From", "To", "Call-ID"):
            headers.add(name, request.required(name))
        headers.add("CSeq", f"{request.cseq.number} CANCEL")
        headers.add("Max-Forwards", "70")
        self.send(SipRequest("CANCEL", request.uri, headers), invite.dest)

    def on_response(self, response: SipResponse) -> bool:
        """Hand a response to its transaction; False when none is waiting for it."""
        key = (response.branch or "", response.cseq.method)
        tx = self.pending.get(key)
        if tx is None:
            self.stray += 1
            return False
        tx.receive(response)
        return True

    def linger(self, tx: ClientTransaction, seconds: float) -> None:
        """Keep a completed transaction to absorb retransmitted finals, then forget it."""
        loop = asyncio.get_running_loop()
        self._lingering[tx.key] = loop.call_later(seconds, self._forget, tx.key)

    def _forget(self, key: tuple[str, str]) -> None:
        self._lingering.pop(key, None)
        self.pending.pop(key, None)

    def close(self) -> None:
        for timer in self._lingering.values():
            timer.cancel()
        for tx in self.pending.values():
            tx.close()
        self.pending.clear()
        self._lingering.clear()


def _ignore(response: SipResponse) -> None:
    return None
