"""Server transactions (RFC 3261 §17.2): a retransmitted request gets the last response again
instead of reaching the application twice; final responses to INVITE are retransmitted over
UDP (Timer G: T1 doubling to T2) until the ACK, giving up after Timer H (64·T1); a CANCEL ends a
pending INVITE with 487. Entries are forgotten 32 s after their final response (Timers I/J).

Responses are not ours: they go to ``on_response`` (the client transactions of a B2BUA, see
``client_transactions.py``); a server that sends no requests leaves it unset and they are
dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from callrec.kit.logging import get_logger
from callrec.telephony.sip import SipMessage, SipRequest, SipResponse, response_for
from callrec.telephony.transport import Peer

log = get_logger("callrec.sip")
T1, T2 = 0.5, 4.0
LINGER_S = 32.0


@dataclass
class ServerTransaction:
    request: SipRequest
    peer: Peer
    to_tag: str
    last: SipResponse | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False
    # Called once when a CANCEL ended this (still pending) INVITE, after the 487 went out:
    # a B2BUA cancels its own outgoing leg from here.
    on_cancel: Callable[[], None] | None = None

    @property
    def is_invite(self) -> bool:
        return self.request.method == "INVITE"

    def respond(self, response: SipResponse) -> None:
        if self.last is not None and self.last.status >= 200:
            return  # one final response per transaction
        self.last = response
        self.peer.send(response.serialize())
        if response.status >= 200 and self.is_invite and self.peer.transport == "UDP":
            asyncio.get_running_loop().create_task(self._retransmit(response))

    def reply(self, status: int, reason: str | None = None, **kwargs: object) -> SipResponse:
        tag = None if status == 100 else self.to_tag
        response = response_for(self.request, status, reason, tag, **kwargs)  # type: ignore[arg-type]
        self.respond(response)
        return response

    async def _retransmit(self, response: SipResponse) -> None:
        interval, waited = T1, 0.0
        while waited < 64 * T1:
            try:
                await asyncio.wait_for(self.acked.wait(), interval)
                return
            except TimeoutError:
                waited += interval
                self.peer.send(response.serialize())
                interval = min(interval * 2, T2)
        log.warning("sip.no_ack", call_id=self.request.call_id, status=response.status)


App = Callable[[ServerTransaction], Awaitable[None]]
ResponseHandler = Callable[[SipResponse, Peer], None]


class TransactionLayer:
    def __init__(self, app: App, new_tag: Callable[[], str]) -> None:
        self.app = app
        self.new_tag = new_tag
        self.by_branch: dict[tuple[str, str], ServerTransaction] = {}
        self.invites: dict[tuple[str, int], ServerTransaction] = {}  # for ACKs of 2xx
        self.tasks: set[asyncio.Task[None]] = set()
        self.on_response: ResponseHandler | None = None

    def on_message(self, message: SipMessage, peer: Peer) -> None:
        if isinstance(message, SipResponse):
            if self.on_response is not None:
                self.on_response(message, peer)
            return
        branch = message.branch or f"{message.call_id}:{message.cseq}"
        if message.method == "ACK":
            self._ack(message, branch)
            return
        if message.method == "CANCEL":
            self._cancel(message, branch, peer)
            return
        key = (branch, message.method)
        known = self.by_branch.get(key)
        if known is not None:
            if known.last is not None:
                peer.send(known.last.serialize())  # a retransmission: same answer again
            return
        tx = ServerTransaction(message, peer, self.new_tag())
        self.by_branch[key] = tx
        if tx.is_invite:
            self.invites[(message.call_id, message.cseq.number)] = tx
        task = asyncio.get_running_loop().create_task(self._run(key, tx))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, key: tuple[str, str], tx: ServerTransaction) -> None:
        try:
            await self.app(tx)
        except Exception:
            log.exception("sip.handler_failed", call_id=tx.request.call_id)
            tx.reply(500, "Server Internal Error")
        await asyncio.sleep(LINGER_S)
        self.by_branch.pop(key, None)
        self.invites.pop((tx.request.call_id, tx.request.cseq.number), None)

    async def close(self) -> None:
        """Forget every transaction (their lingering timers included)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _ack(self, ack: SipRequest, branch: str) -> None:
        tx = self.by_branch.get((branch, "INVITE")) or self.invites.get(
            (ack.call_id, ack.cseq.number)
        )
        if tx is not None:
            tx.acked.set()

    def _cancel(self, cancel: SipRequest, branch: str, peer: Peer) -> None:
        tx = self.by_branch.get((branch, "INVITE"))
        if tx is None:
            peer.send(response_for(cancel, 481).serialize())
            return
        peer.send(response_for(cancel, 200, to_tag=tx.to_tag).serialize())
        if tx.last is None or tx.last.status < 200:
            tx.cancelled = True
            tx.reply(487, "Request Terminated")
            if tx.on_cancel is not None:
                tx.on_cancel()
