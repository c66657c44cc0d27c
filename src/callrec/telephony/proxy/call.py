"""One proxied call, from the caller's INVITE to the last BYE.

Setup: the caller's INVITE (A-leg; we are its UAS) is mapped to the directory and decided
(``capture_store.decide_call``), its consent media fetched (``consent_for_call``); for an
announcement or an ask prompt the caller gets ``183 Session Progress`` with our SDP and hears
it; then we INVITE the callee (B-leg; we are its UAC, with a Call-ID of our own), relay its
progress, and on its 2xx ACK it, bridge the media, open the recording (when recorded) and
answer the caller. CANCEL, failures, BYE and the RTP timeout end it; in-dialog requests
(re-INVITE, INFO, REFER) are in ``in_dialog.py``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from callrec.kit.logging import get_logger
from callrec.telephony import capture_store
from callrec.telephony.capture_store import Party, Reach
from callrec.telephony.dialog import Dialog
from callrec.telephony.proxy import consent as prompts
from callrec.telephony.proxy import in_dialog
from callrec.telephony.proxy.legs import Leg, Role
from callrec.telephony.proxy.media import Bridge, Codec, MediaLeg
from callrec.telephony.proxy.recording import BeepClock, CallRecording
from callrec.telephony.proxy.sdp import AudioOffer, LocalSdp, choose, read_audio
from callrec.telephony.rtp_endpoint import RtpEndpoint, open_endpoint
from callrec.telephony.sdp import Direction, SdpError
from callrec.telephony.sip import NameAddr, SipRequest, SipResponse, SipUri
from callrec.telephony.transactions import ServerTransaction
from callrec.telephony.transport import Address

if TYPE_CHECKING:
    from callrec.consent.playout import CallConsent
    from callrec.policy import Decision
    from callrec.telephony.proxy.server import RecordingProxy
    from callrec.worker.runtime import Runtime

log = get_logger("callrec.proxy")
DEFAULT_EVENT_PT = 101


class CallFailed(Exception):
    """The callee (or the way to it) failed: the status to relay to the caller."""

    def __init__(self, status: int, reason: str | None = None) -> None:
        super().__init__(f"{status} {reason or ''}")
        self.status, self.reason = status, reason


class ProxiedCall:
    def __init__(self, proxy: RecordingProxy, tx: ServerTransaction) -> None:
        self.proxy = proxy
        self.tx = tx
        self.request = tx.request
        self.call_id = tx.request.call_id
        self.cancelled = asyncio.Event()
        self.answered = False
        self.ended = False
        self.a: Leg | None = None
        self.b: Leg | None = None
        self.bridge: Bridge | None = None
        self.beeps: BeepClock | None = None
        self.consent: CallConsent | None = None
        self.reach: Reach | None = None
        self.recording = CallRecording(proxy.rt, proxy.spool, self.call_id)
        self.evidence: dict[str, Any] = {"announcement": None, "ask": None,
                                         "beep_interval_s": None}  # fmt: skip
        self.ask_answer: prompts.AskAnswer | None = None
        self.early_sdp_sent = False
        self.retired: list[Leg] = []  # legs a transfer replaced, until their BYE
        self._ports: list[int] = []
        self._endpoints: list[RtpEndpoint] = []  # every socket opened, closed at the end
        self.created = time.monotonic()

    # Lookups the server and in_dialog use.

    def leg_of(self, call_id: str) -> Leg | None:
        for leg in (self.a, self.b, *self.retired):
            if leg is not None and leg.call_id == call_id:
                return leg
        return None

    def other(self, leg: Leg) -> Leg | None:
        return self.b if leg is self.a else self.a if leg is self.b else None

    def silent_for(self, now: float) -> float:
        if not self.answered or self.a is None or self.b is None:
            return 0.0
        return now - max(self.a.media.last_packet, self.b.media.last_packet)

    # Setup.

    async def run(self) -> None:
        self.proxy.register(self.call_id, self)
        try:
            await self._setup()
        except CallFailed as failed:
            self.tx.reply(failed.status, failed.reason)
            await self._finish(f"failed {failed.status}")
        except BaseException:
            self._close_sockets()  # even if finished already: a socket may have opened since
            await self._finish("error")
            raise
        if self.cancelled.is_set() and not self.answered:
            await self._finish("cancelled")

    async def _setup(self) -> None:
        request, config = self.request, self.proxy.config
        try:
            offer = read_audio(request.body)
        except SdpError as exc:
            text = str(exc).replace('"', "'")[:200]
            self.tx.reply(
                488, "Not Acceptable Here", headers=[("Warning", f'399 callrec "{text}"')]
            )
            await self._finish("no usable offer")
            return
        route = config.route(request.uri)
        if route is None:
            log.info("proxy.no_route", call_id=self.call_id, to=str(request.uri))
            raise CallFailed(404, "No Route")
        forwards = request.max_forwards
        if forwards is not None and forwards <= 1:
            raise CallFailed(483, "Too Many Hops")
        self.tx.reply(100, "Trying")
        self.tx.on_cancel = self._on_cancel
        parties = self.parties()
        self.reach = await asyncio.to_thread(
            capture_store.decide_call, self.proxy.rt, config.org_slug, parties
        )
        decision = self.reach.decision
        record = decision.record
        # Consent media only for a call that will be recorded: one of our users is on it.
        if decision.record and self.reach.user_id is not None and self.reach.org_id is not None:
            try:
                self.consent = await asyncio.to_thread(
                    _consent_for_call, self.proxy.rt, self.reach.org_id, decision
                )
            except Exception:
                # No consent media (a broken announcement, the TTS engine down): the call goes
                # through, but is not recorded without the consent the policy asks for.
                log.exception("proxy.consent_failed", call_id=self.call_id)
                record = False
        self.a = await self.open_leg("a", self.call_id, choose(offer), self.tx.peer.addr, offer)
        self.a.peer = self.tx.peer
        self.a.dialog = Dialog.as_uas(request, self.tx.to_tag)
        self.a.party_name = request.from_.display_name or ""
        self.a.party_aor = str(request.from_.uri)
        log.info("proxy.invite", call_id=self.call_id, to=str(request.uri), route=route,
                 record=decision.record, explanation=decision.explain())  # fmt: skip
        if self.consent is not None and not self.cancelled.is_set():
            record = await self._consent_media(self.consent)
        if self.cancelled.is_set():
            return
        await self._call_callee(route, forwards, record)

    def parties(self) -> list[Party]:
        request = self.request
        caller = request.from_
        callee = request.to
        return [
            Party(caller.display_name or "", (str(caller.uri),)),
            Party(callee.display_name or "", (str(request.uri), str(callee.uri))),
        ]

    async def open_leg(
        self, role: Role, call_id: str, codec: Codec, address: Address,
        offer: AudioOffer | None = None,
    ) -> Leg:  # fmt: skip
        """Our RTP socket (and SDP) for a party; its port is released when the call ends."""
        expected = offer.remote[0] if offer is not None and offer.remote else None
        endpoint = RtpEndpoint(sink=_drop, started=0.0, expected_ip=expected)
        self._endpoints.append(endpoint)  # closed by _finish, even if we are cancelled below
        for _ in range(8):
            try:
                base = self.proxy.ports.reserve(1)
            except RuntimeError:
                raise CallFailed(503, "Service Unavailable") from None  # every port in use
            self._ports.append(base)  # released with the call, even when it failed to bind
            try:
                await open_endpoint(self.proxy.config.host, base, endpoint)
                break
            except OSError:
                continue  # taken by another process: try the next one
        else:
            raise CallFailed(503, "Service Unavailable")
        if self.ended:  # the call ended (a shutdown) while the socket was being opened
            endpoint.close()
            raise CallFailed(503, "Service Unavailable")
        media = MediaLeg(endpoint, base, codec, offer.remote if offer else None)
        sdp = LocalSdp(self.proxy.config.host, secrets.randbelow(1 << 31))
        return Leg(role, call_id, media, sdp, base, address, offer=offer)

    def _a_sdp(self, direction: Direction = "sendrecv") -> bytes:
        assert self.a is not None
        return in_dialog.local_sdp(self.a, direction)

    async def _consent_media(self, consent: CallConsent) -> bool:
        """Early media to the caller: the announcement, or the ask prompt and its answer.
        Returns whether the call is recorded."""
        a = self.a
        assert a is not None
        if consent.announcement is None and consent.ask_prompt is None:
            return True
        self._early_answer()
        if consent.announcement is not None:
            played = await prompts.play(a.media, consent.announcement.pcm8k, self.cancelled)
            self.evidence["announcement"] = prompts.announcement_evidence(
                consent.announcement, played
            )
            return True
        assert consent.ask_prompt is not None
        answer = self.ask_answer = prompts.AskAnswer()
        event_pt = a.media.codec.event_pt
        a.media.endpoint.sink = lambda data, now: answer.on_rtp(event_pt, data)
        await prompts.ask(a.media, consent.ask_prompt, consent.ask_timeout_s, answer,
                          self.cancelled)  # fmt: skip
        a.media.endpoint.sink = _drop
        self.evidence["ask"] = prompts.ask_evidence(answer)
        if answer.digit is None:
            return consent.ask_default_record
        return answer.digit == "1"

    def _early_answer(self) -> None:
        """183 with our SDP: the caller's media now flows to (and from) our A-side socket."""
        if self.early_sdp_sent:
            return
        self.early_sdp_sent = True
        self.tx.reply(183, "Session Progress", headers=self._contact_headers(sdp=True),
                      body=self._a_sdp())  # fmt: skip

    def _contact_headers(self, sdp: bool) -> list[tuple[str, str]]:
        from callrec.telephony.proxy.server import ALLOW

        headers = [("Contact", self.proxy.contact()), ("Allow", ALLOW)]
        if sdp:
            headers.append(("Content-Type", "application/sdp"))
        return headers

    async def _call_callee(self, route: Address, forwards: int | None, record: bool) -> None:
        a = self.a
        assert a is not None and a.offer is not None
        codec = a.media.codec
        # The caller's codec first, so a callee that can takes it and nothing is transcoded.
        pts = (codec.audio_pt, *(pt for pt in a.offer.audio_pts if pt != codec.audio_pt))
        b_codec = Codec(codec.audio_pt, codec.event_pt or DEFAULT_EVENT_PT)
        b_call_id = f"{secrets.token_hex(10)}@callrec"
        b = await self.open_leg("b", b_call_id, b_codec, route)
        self.b = b
        self.proxy.register(b_call_id, self)
        target = self.request.uri
        body = b.sdp.build(b.port_base, pts, b_codec.event_pt, a.offer.direction)
        b.party_aor = str(target)
        b.party_name = self.request.to.display_name or ""
        caller = self.request.from_
        invite = self.outgoing_invite(
            b, SipUri("sip", target.user, route[0], route[1]),
            NameAddr(caller.uri, caller.display_name), NameAddr(self.request.to.uri,
                                                                self.request.to.display_name),
            body, (forwards or 70) - 1,
        )  # fmt: skip
        response = await self.dial(b, invite, route, relay=True)
        await self._answered(b, response, record)

    def outgoing_invite(
        self, leg: Leg, uri: SipUri, from_: NameAddr, to: NameAddr, body: bytes, forwards: int
    ) -> SipRequest:
        from callrec.telephony.proxy.server import ALLOW
        from callrec.telephony.sip import Headers

        from_ = NameAddr(from_.uri, from_.display_name, {"tag": secrets.token_hex(6)})
        headers = Headers([
            ("Via", self.proxy.via()), ("Max-Forwards", str(max(forwards, 1))),
            ("From", from_.serialize()), ("To", to.serialize()), ("Call-ID", leg.call_id),
            ("CSeq", "1 INVITE"), ("Contact", self.proxy.contact()), ("Allow", ALLOW),
            ("Content-Type", "application/sdp"),
        ])  # fmt: skip
        return SipRequest("INVITE", uri, headers, body)

    async def dial(self, leg: Leg, invite: SipRequest, route: Address, relay: bool) -> SipResponse:
        """Send ``invite`` to ``route`` and wait for its final response; 1xx are relayed to the
        caller while ``relay``. A CANCEL from the caller cancels it. Raises CallFailed."""
        responses: asyncio.Queue[SipResponse] = asyncio.Queue()
        acks: dict[str, bytes] = {}

        def on_response(response: SipResponse) -> None:
            if 200 <= response.status < 300 and response.to.tag in acks:
                leg.destination(self.proxy.send_udp).send(acks[response.to.tag])  # lost ACK
                return
            responses.put_nowait(response)

        leg.invite = self.proxy.send(invite, self.proxy.udp(route), on_response)
        deadline = time.monotonic() + self.proxy.config.ring_timeout_s
        cancelled_sent = False
        while True:
            if self.cancelled.is_set() and not cancelled_sent and relay:
                self.proxy.clients.cancel(leg.invite)
                cancelled_sent = True
            try:
                response = await asyncio.wait_for(
                    _next(responses, self.cancelled if not cancelled_sent and relay else None),
                    max(0.0, deadline - time.monotonic()),
                )
            except TimeoutError:
                self.proxy.clients.cancel(leg.invite)
                raise CallFailed(480, "Temporarily Unavailable") from None
            if response is None:
                continue  # the caller cancelled: CANCEL sent, wait for the callee's final
            if response.status < 200:
                if relay and not self.cancelled.is_set():
                    await self._provisional(leg, invite, response)
                continue
            if response.status >= 300:
                if self.cancelled.is_set() and relay:
                    raise CallFailed(487, "Request Terminated")
                raise CallFailed(response.status, response.reason)
            leg.dialog = Dialog.as_uac(invite, response, route)
            ack = leg.dialog.request("ACK", self.proxy.via(), cseq=invite.cseq.number)
            acks[response.to.tag or ""] = wire = ack.serialize()
            leg.destination(self.proxy.send_udp).send(wire)
            if self.cancelled.is_set() and relay:
                self.proxy.in_dialog(leg, "BYE")  # answered while we cancelled it
                raise CallFailed(487, "Request Terminated")
            return response

    async def _provisional(self, leg: Leg, invite: SipRequest, response: SipResponse) -> None:
        """180/183 from the callee: relay it. With SDP (early media, e.g. its ringback) the
        media is bridged now and the caller gets our SDP in a 183."""
        if response.status == 100:
            return
        if response.body and leg.offer is None:
            try:
                offer = read_audio(response.body)
            except SdpError:
                offer = None
            if offer is not None:
                leg.dialog = leg.dialog or Dialog.as_uac(invite, response, leg.address)
                self._take_answer(leg, offer)
                self._bridge()
                if not self.early_sdp_sent:
                    self._early_answer()
                return
        if self.early_sdp_sent:
            return  # the caller already hears our early media; a 180 would start a ringback
        self.tx.reply(response.status, response.reason, headers=self._contact_headers(sdp=False))

    def _take_answer(self, leg: Leg, answer: AudioOffer) -> None:
        """The callee's SDP answer: where its media goes, and the payload types it took."""
        leg.offer = answer
        leg.media.remote = answer.remote
        if answer.remote is not None:
            leg.media.endpoint.expected_ip = answer.remote[0]
        leg.media.set_codec(Codec(answer.audio_pts[0], answer.event_pt))

    def _bridge(self) -> Bridge:
        if self.bridge is None:
            assert self.a is not None and self.b is not None
            self.bridge = Bridge(self.a.media, self.b.media)
        return self.bridge

    async def _answered(self, b: Leg, response: SipResponse, record: bool) -> None:
        try:
            answer = read_audio(response.body)
        except SdpError as exc:
            log.warning("proxy.bad_answer", call_id=self.call_id, error=str(exc))
            self.proxy.in_dialog(b, "BYE")
            raise CallFailed(502, "Bad Gateway") from None
        self._take_answer(b, answer)
        bridge = self._bridge()
        # Answer the caller first: once it has the 200 a CANCEL cannot race the recording's
        # rows (the capture then starts a few ms after the answer).
        self.answered = True
        self.tx.reply(200, "OK", headers=self._contact_headers(sdp=True),
                      body=self._a_sdp(answer.direction))  # fmt: skip
        if record and self.reach is not None and self.reach.user_id is not None:
            interval = self.consent.beep_interval_s if self.consent is not None else None
            self.evidence["beep_interval_s"] = interval
            await self.recording.start(self.reach, self.parties(), bridge, self.evidence)
            if self.ended:  # hung up while the rows were written
                await self.recording.close_segment(datetime.now(UTC), call_ended=True)
                return
            if interval:
                config = self.proxy.config
                self.beeps = BeepClock(bridge, interval, config.beep_hz, config.beep_ms)
        log.info("proxy.answered", call_id=self.call_id, recorded=self.recording.active,
                 b_call_id=b.call_id)  # fmt: skip

    def _on_cancel(self) -> None:
        self.cancelled.set()

    # Teardown.

    async def on_request(self, tx: ServerTransaction) -> None:
        await in_dialog.handle(self, tx)

    async def hang_up(self, by: Leg | None, why: str) -> None:
        """End the call: BYE every confirmed leg but the one that sent it, then finish."""
        if self.ended:
            return
        if not self.answered:
            self.cancelled.set()
            if by is None:
                self.tx.reply(480, "Temporarily Unavailable")
            return  # the setup sees it and cleans up
        for leg in (self.a, self.b):
            if leg is not None and leg is not by and leg.dialog is not None and not leg.ended:
                leg.ended = True
                self.proxy.in_dialog(leg, "BYE")
        await self._finish(why)

    async def _finish(self, why: str) -> None:
        if self.ended:
            return
        self.ended = True
        ended = datetime.now(UTC)
        if self.beeps is not None:
            self.beeps.stop()
        # Sockets and ports first: nothing below may leave them open (a shutdown cancels us).
        self._close_sockets()
        for base in self._ports:
            self.proxy.ports.release(base, 1)
        self._ports.clear()
        self.proxy.forget(self)
        await self.recording.close_segment(ended, call_ended=True)
        log.info("proxy.ended", call_id=self.call_id, why=why)

    def _close_sockets(self) -> None:
        for leg in (self.a, self.b, *self.retired):
            if leg is not None:
                leg.close()
        for endpoint in self._endpoints:
            endpoint.close()

    async def shut_down(self) -> None:
        """The proxy stops: hang up an answered call, drop one still being set up."""
        if self.answered:
            await self.hang_up(None, "shutdown")
        else:
            self.tx.reply(503, "Service Unavailable")
            if self.b is not None and self.b.invite is not None:
                self.proxy.clients.cancel(self.b.invite)
            await self._finish("shutdown")

    def replace_leg(self, old: Leg, new: Leg) -> None:
        """A transfer succeeded: ``new`` takes ``old``'s side of the bridge."""
        assert self.bridge is not None
        self.bridge.replace(old.role, new.media)
        if old is self.a:
            self.a = new
        else:
            self.b = new
        self.retired.append(old)
        self.recording.attach(self.bridge)

    def release_leg(self, leg: Leg) -> None:
        leg.close()
        if leg.port_base in self._ports:
            self._ports.remove(leg.port_base)
            self.proxy.ports.release(leg.port_base, 1)


def _consent_for_call(rt: Runtime, org_id: uuid.UUID, decision: Decision) -> CallConsent:
    # Imported here, in the worker thread: the consent context pulls in the audio stack
    # (scipy, seconds to import on a busy machine), which the event loop must not wait for.
    from callrec.consent.playout import consent_for_call

    return consent_for_call(rt, org_id, decision)


async def _next(
    queue: asyncio.Queue[SipResponse], cancelled: asyncio.Event | None
) -> SipResponse | None:
    """The next response, or None as soon as ``cancelled`` is set."""
    if cancelled is None:
        return await queue.get()
    getter = asyncio.ensure_future(queue.get())
    waiter = asyncio.ensure_future(cancelled.wait())
    done, _ = await asyncio.wait({getter, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if getter in done:
        waiter.cancel()
        return getter.result()
    getter.cancel()
    return None


def _drop(data: bytes, now: float) -> None:
    return None
