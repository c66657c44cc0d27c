"""The answering side (UAS) of plain phone calls: every INVITE reaching the endpoint is a new
``Callee``. It answers 100, then 180 Ringing, then (after ``ring_s``) either 200 with its SDP
answer or the configured failure; its audio starts at the ACK. It takes a BYE from the other
side, or sends one itself after ``hang_up_after_s``; a CANCEL while it rings ends it with 487.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from callrec.telephony.dialog import Dialog
from callrec.telephony.sdp import SdpError
from callrec.telephony.transactions import T1, ServerTransaction
from callrec.telephony.ua.audio import Pcm
from callrec.telephony.ua.media import LegFactory, RtpLeg
from callrec.telephony.ua.offer import answer
from callrec.telephony.ua.signalling import SipEndpoint

TIMER_H = 64 * T1  # how long a 200 waits for its ACK


@dataclass(frozen=True)
class Answer:
    """How a callee answers."""

    status: int = 200  # anything else: the call is refused with it (486 busy, 603, …)
    ring_s: float = 0.0
    audio: Pcm | None = None
    hang_up_after_s: float | None = None  # after the ACK; None: wait for the other side


@dataclass(eq=False)
class Callee:
    endpoint: SipEndpoint
    tx: ServerTransaction
    open_leg: LegFactory = RtpLeg.open
    leg: RtpLeg | None = None
    dialog: Dialog | None = None
    status: int | None = None
    acked: bool = False
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # the ACK of our 200
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    ended_by: Literal["us", "them", "cancel", "refused"] | None = None
    infos: list[bytes] = field(default_factory=list)  # INFO bodies received
    _hangup: asyncio.Task[int] | None = None

    @property
    def request_uri(self) -> str:
        return str(self.tx.request.uri)

    @property
    def from_uri(self) -> str:
        return str(self.tx.request.from_.uri)

    async def run(self, how: Answer) -> None:
        """The INVITE server transaction, up to the ACK of our 200 (or the refusal)."""
        request = self.tx.request
        contact = [("Contact", self.endpoint.contact)]
        self.tx.reply(100)
        self.dialog = Dialog.as_uas(request, self.tx.to_tag)
        self.dialog.fallback = self.tx.peer.addr
        self.endpoint.calls[request.call_id] = self
        self.tx.reply(180, headers=contact)
        if how.ring_s:
            await asyncio.sleep(how.ring_s)
        if self.tx.cancelled:
            self._end("cancel", 487)
            return
        if how.status != 200:
            self.tx.reply(how.status)
            self._end("refused", how.status)
            return
        self.leg = await self.open_leg(self.endpoint.host, how.audio)
        try:
            body, remote, codec = answer(request.body, self.endpoint.host, self.leg.port)
        except SdpError:
            self.tx.reply(488)
            self._end("refused", 488)
            return
        self.status = 200
        self.tx.reply(200, headers=[*contact, ("Content-Type", "application/sdp")], body=body)
        self.leg.send_to(remote, codec)
        try:
            await asyncio.wait_for(self.tx.acked.wait(), TIMER_H)
        except TimeoutError:
            await self.hang_up()  # RFC 3261 §13.3.1.4: no ACK, the dialog is over
            return
        self.acked = True
        self.leg.audio_on = True
        self.answered.set()
        if how.hang_up_after_s is not None:
            self._hangup = asyncio.get_running_loop().create_task(
                self._hang_up_later(how.hang_up_after_s)
            )

    async def _hang_up_later(self, seconds: float) -> int:
        try:
            await asyncio.wait_for(self.ended.wait(), seconds)
            return 0
        except TimeoutError:
            return await self.hang_up()

    async def on_request(self, tx: ServerTransaction) -> None:
        method = tx.request.method
        if self.dialog is None or not self.dialog.accepts(tx.request):
            tx.reply(481)
        elif method == "BYE":
            tx.reply(200)
            self._end("them", self.status)
        elif method == "INFO":
            self.infos.append(tx.request.body)
            tx.reply(200)
        elif method == "INVITE" and self.leg is not None:  # re-INVITE: same port, same codec
            try:
                body, remote, codec = answer(tx.request.body, self.endpoint.host, self.leg.port)
            except SdpError:
                tx.reply(488)
                return
            self.dialog.update_target(tx.request)
            self.leg.send_to(remote, codec)
            tx.reply(200, headers=[("Contact", self.endpoint.contact),
                                   ("Content-Type", "application/sdp")], body=body)  # fmt: skip
        elif method in ("OPTIONS", "UPDATE"):
            tx.reply(200)
        else:
            tx.reply(405)

    async def hang_up(self) -> int:
        """Send BYE; its status."""
        if self.ended.is_set() or self.dialog is None:
            return 0
        self._end("us", self.status)
        response = await self.endpoint.send_in(self.dialog, "BYE")
        return response.status

    async def wait_ended(self, timeout: float) -> None:
        await asyncio.wait_for(self.ended.wait(), timeout)

    async def close(self) -> None:
        if self._hangup is not None and not self._hangup.done():
            self._hangup.cancel()
            await asyncio.gather(self._hangup, return_exceptions=True)
        if self.leg is not None:
            await self.leg.close()
        self.endpoint.calls.pop(self.tx.request.call_id, None)

    def _end(self, by: Literal["us", "them", "cancel", "refused"], status: int | None) -> None:
        if not self.ended.is_set():
            self.ended_by, self.status = by, status
            if self.leg is not None:
                self.leg.audio_on = False
            self.ended.set()


Answering = Answer | Callable[[Callee], Answer]


@dataclass(eq=False)
class CalleeAgent:
    """Answers every INVITE that reaches ``endpoint`` the way ``answering`` says (one ``Answer``
    for all, or a function of the call: by its Request-URI, say)."""

    endpoint: SipEndpoint
    answering: Answering = field(default_factory=Answer)
    open_leg: LegFactory = RtpLeg.open
    calls: list[Callee] = field(default_factory=list)
    arrived: asyncio.Queue[Callee] = field(default_factory=asyncio.Queue)

    def __post_init__(self) -> None:
        self.endpoint.on_invite = self._on_invite

    async def _on_invite(self, tx: ServerTransaction) -> None:
        callee = Callee(self.endpoint, tx, self.open_leg)
        self.calls.append(callee)
        self.arrived.put_nowait(callee)
        how = self.answering(callee) if callable(self.answering) else self.answering
        await callee.run(how)

    async def next_call(self, timeout: float = 10.0) -> Callee:
        return await asyncio.wait_for(self.arrived.get(), timeout)

    async def close(self) -> None:
        for callee in self.calls:
            await callee.close()
