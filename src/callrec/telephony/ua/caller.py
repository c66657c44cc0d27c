"""The calling side (UAC) of a plain phone call.

``start`` sends the INVITE (SDP offer: PCMU, telephone-event 101) and returns; the call then
moves on by itself: a 183 with SDP starts the RTP leg (it receives the early media: an
announcement or a prompt, and can send key presses to it), a 200 is acknowledged and starts the
audio, a failure is acknowledged and ends the call. A BYE from the other side is answered and
ends it too. The caller's own audio starts at the answer (phones send nothing in early media).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Literal

from callrec.telephony.client_transactions import ClientTransaction
from callrec.telephony.dialog import Dialog
from callrec.telephony.sdp import SdpError
from callrec.telephony.sip import Headers, NameAddr, SipRequest, SipResponse, SipUri
from callrec.telephony.transactions import ServerTransaction
from callrec.telephony.ua.audio import Pcm
from callrec.telephony.ua.media import Address, LegFactory, RtpLeg
from callrec.telephony.ua.offer import offer, remote_media
from callrec.telephony.ua.signalling import SipEndpoint, new_tag

DigitVia = Literal["rfc4733", "info"]


class CallFailed(RuntimeError):
    """The call could not do what was asked (no answer in time, no media to send a key on)."""


@dataclass(eq=False)
class Caller:
    endpoint: SipEndpoint
    target: Address  # the proxy (or phone) the INVITE goes to
    to_uri: str  # e.g. "sip:201@demo.example.com"
    from_uri: str  # e.g. "sip:+441632960101@trunk.example.com"
    audio: Pcm | None = None
    display_name: str | None = None
    open_leg: LegFactory = RtpLeg.open  # the benchmark's legs count instead of keeping packets
    status: int | None = None  # the INVITE's final status
    provisional: list[int] = field(default_factory=list)  # 1xx statuses, in order
    early: asyncio.Event = field(default_factory=asyncio.Event)  # early media (183 + SDP)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    answered_at: float | None = None  # on the leg's clock, as its packets' arrival times
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    ended_by: Literal["us", "them", "failure"] | None = None
    leg: RtpLeg | None = None
    dialog: Dialog | None = None
    _invite: ClientTransaction | None = None
    _ack: tuple[bytes, Address] | None = None

    async def start(self) -> None:
        self.leg = await self.open_leg(self.endpoint.host, self.audio)
        call_id = f"{secrets.token_hex(10)}@callrec-ua"
        local = NameAddr(SipUri.parse(self.from_uri), self.display_name, {"tag": new_tag()})
        headers = Headers([
            ("Via", self.endpoint.via()), ("Max-Forwards", "70"), ("From", local.serialize()),
            ("To", f"<{self.to_uri}>"), ("Call-ID", call_id), ("CSeq", "1 INVITE"),
            ("Contact", self.endpoint.contact), ("Content-Type", "application/sdp"),
        ])  # fmt: skip
        body = offer(self.endpoint.host, self.leg.port)
        invite = SipRequest("INVITE", SipUri.parse(self.to_uri), headers, body)
        self.endpoint.calls[call_id] = self
        self._invite = self.endpoint.start(invite, self.target, self._on_response)

    def _on_response(self, response: SipResponse) -> None:
        assert self._invite is not None and self.leg is not None
        if response.status < 200:
            self.provisional.append(response.status)
            if response.status > 100 and response.to.tag:
                self._dialog_from(response)
                if response.body and not self.early.is_set() and self._media_from(response.body):
                    self.early.set()
            return
        if response.status >= 300:
            self._end("failure", response.status)  # the transaction sent the ACK
            return
        if self._ack is not None:
            self.endpoint.send(*self._ack)  # the 2xx again: our ACK was lost
            return
        dialog = self._dialog_from(response)
        self.status = response.status
        target = dialog.destination() or self.target
        ack = dialog.request("ACK", self.endpoint.via(), cseq=self._invite.request.cseq.number)
        self._ack = (ack.serialize(), target)
        self.endpoint.send(*self._ack)
        if response.body:
            self._media_from(response.body)
        self.leg.audio_on = True
        self.answered_at = self.leg.clock()
        self.answered.set()

    def _dialog_from(self, response: SipResponse) -> Dialog:
        """The early dialog of a 1xx with a tag, confirmed (or replaced) by the 2xx."""
        assert self._invite is not None
        if self.dialog is None or self.dialog.remote_tag != response.to.tag:
            self.dialog = Dialog.as_uac(self._invite.request, response, self.target)
        else:
            self.dialog.update_target(response)
        return self.dialog

    def _media_from(self, body: bytes) -> bool:
        assert self.leg is not None
        try:
            remote, codec = remote_media(body)
        except SdpError:
            return False
        self.leg.send_to(remote, codec)
        return True

    async def on_request(self, tx: ServerTransaction) -> None:
        method = tx.request.method
        if self.dialog is None or not self.dialog.accepts(tx.request):
            tx.reply(481)
        elif method == "BYE":
            tx.reply(200)
            self._end("them", self.status)
        elif method == "INVITE":  # a re-INVITE (hold, a new target): same media, same answer
            assert self.leg is not None
            self.dialog.update_target(tx.request)
            if tx.request.body:
                self._media_from(tx.request.body)
            body = offer(self.endpoint.host, self.leg.port)
            tx.reply(200, headers=[("Contact", self.endpoint.contact),
                                   ("Content-Type", "application/sdp")], body=body)  # fmt: skip
        elif method in ("INFO", "OPTIONS", "UPDATE"):
            tx.reply(200)
        else:
            tx.reply(405)

    # What the user does.

    async def wait_early(self, timeout: float = 10.0) -> None:
        await self._wait(self.early, timeout, "no early media (183 with SDP)")

    async def wait_answer(self, timeout: float = 40.0) -> int:
        """Wait for the final response; the status (200 when answered, 408: none came)."""
        if self._invite is None:
            raise CallFailed("the call was not started")
        try:
            final = await asyncio.wait_for(asyncio.shield(self._invite.final), timeout)
        except TimeoutError:
            raise CallFailed(f"no final response in {timeout} s") from None
        if final.status >= 300:
            self._end("failure", final.status)  # a local 408 reaches no on_response
        return final.status

    async def press(self, digit: str, via: DigitVia = "rfc4733", frames: int = 8) -> None:
        """One key press, as RFC 4733 events on the media (returns once the last end packet is
        sent) or as a SIP INFO (returns at its 200)."""
        if self.leg is None or self.dialog is None or self.leg.remote is None:
            raise CallFailed("no media yet to send a key press on")
        if via == "rfc4733":
            await self.leg.press(digit, frames)
            return
        body = f"Signal={digit}\r\nDuration={frames * 20}\r\n".encode()
        headers = [("Content-Type", "application/dtmf-relay")]
        response = await self.endpoint.send_in(self.dialog, "INFO", headers, body)
        if response.status >= 300:
            raise CallFailed(f"INFO answered {response.status}")

    async def hang_up(self) -> int:
        """BYE once answered (the BYE's status), CANCEL before that (the INVITE's status)."""
        if self.ended.is_set():
            return self.status or 0
        if not self.answered.is_set():
            assert self._invite is not None
            self.endpoint.clients.cancel(self._invite)
            return await self.wait_answer()
        assert self.dialog is not None
        self._end("us", self.status)
        response = await self.endpoint.send_in(self.dialog, "BYE")
        return response.status

    async def wait_ended(self, timeout: float) -> None:
        await self._wait(self.ended, timeout, "the call did not end")

    async def close(self) -> None:
        """Free the call's sockets (after it ended, or to abandon it)."""
        if self.leg is not None:
            await self.leg.close()
        if self._invite is not None:
            self.endpoint.calls.pop(self._invite.request.call_id, None)

    def _end(self, by: Literal["us", "them", "failure"], status: int | None) -> None:
        if not self.ended.is_set():
            self.ended_by, self.status = by, status
            if self.leg is not None:
                self.leg.audio_on = False
            self.ended.set()

    async def _wait(self, event: asyncio.Event, timeout: float, what: str) -> None:
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            raise CallFailed(f"{what} in {timeout} s") from None
