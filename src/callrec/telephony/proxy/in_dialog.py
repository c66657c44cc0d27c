"""Requests inside a proxied call, from either party.

- BYE: 200 to the sender, BYE to the other party, the recording finished.
- re-INVITE / UPDATE (hold, resume, a new address): relayed as our own offer to the other party,
  its answer relayed back; our RTP sockets stay, so a hold is silence in the recording, not a
  gap. A re-INVITE without SDP (a session refresh) is answered with our current SDP.
- INFO: a key press (``application/dtmf-relay`` / ``application/dtmf``) answers the ask
  prompt while it is pending; later ones are passed on to the other party.
- REFER (a blind transfer by either party): ``202``, then we INVITE the Refer-To target
  (routed by our table, never to the URI's host: no open relay through a transfer), NOTIFY the
  transferor of the outcome (RFC 3515 sipfrag) and, on success, put the target in the
  transferor's place. The other party keeps its RTP stream (same SSRC, sequence, timestamps):
  it needs no re-INVITE. The segment ends and a new one (with its own decision and recording)
  starts in the same call. The transferor is expected to BYE; we do after 32 s if it does not.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from callrec.kit.logging import get_logger
from callrec.telephony import capture_store
from callrec.telephony.capture_store import Party
from callrec.telephony.proxy.consent import info_digit
from callrec.telephony.proxy.legs import Leg
from callrec.telephony.proxy.media import Codec
from callrec.telephony.proxy.sdp import AudioOffer, read_audio
from callrec.telephony.sdp import Direction, SdpError
from callrec.telephony.sip import NameAddr, SipResponse, SipUri
from callrec.telephony.transactions import ServerTransaction

if TYPE_CHECKING:
    from callrec.telephony.proxy.call import ProxiedCall

log = get_logger("callrec.proxy")
TRANSFEROR_BYE_S = 32.0
REOFFER_TIMEOUT_S = 32.0
_SDP = ("Content-Type", "application/sdp")


async def handle(call: ProxiedCall, tx: ServerTransaction) -> None:
    request = tx.request
    leg = call.leg_of(request.call_id)
    if leg is None or leg.dialog is None:
        tx.reply(481, "Call/Transaction Does Not Exist")
        return
    dialog = leg.dialog
    if request.from_.tag != dialog.remote_tag or request.to.tag != dialog.local_tag:
        tx.reply(481, "Call/Transaction Does Not Exist")
        return
    if not dialog.accepts(request):
        tx.reply(500, "Server Internal Error", headers=[("Retry-After", "1")])  # stale CSeq
        return
    method = request.method
    if leg in call.retired:
        _retired(call, leg, tx)
    elif method == "BYE":
        tx.reply(200)
        leg.ended = True
        await call.hang_up(leg, f"bye from {leg.role}")
    elif method in ("INVITE", "UPDATE"):
        await _reoffer(call, leg, tx)
    elif method == "INFO":
        _info(call, leg, tx)
    elif method == "REFER":
        await _transfer(call, leg, tx)
    elif method in ("NOTIFY", "OPTIONS"):
        tx.reply(200)
    else:
        from callrec.telephony.proxy.server import ALLOW

        tx.reply(405, headers=[("Allow", ALLOW)])


def _retired(call: ProxiedCall, leg: Leg, tx: ServerTransaction) -> None:
    """The transferor, after its transfer: its BYE ends only its own leg."""
    tx.reply(200)
    if tx.request.method == "BYE":
        leg.ended = True
        call.retired.remove(leg)
        call.release_leg(leg)
        call.proxy.forget_id(leg.call_id)


def local_sdp(leg: Leg, direction: Direction = "sendrecv") -> bytes:
    codec = leg.media.codec
    offer = leg.offer
    others, index = (offer.other_media, offer.audio_index) if offer is not None else ((), 0)
    return leg.sdp.build(leg.port_base, (codec.audio_pt,), codec.event_pt, direction, others,
                         index)  # fmt: skip


def apply_remote(leg: Leg, offer: AudioOffer) -> None:
    """A party's new SDP: where to send now; a new source address is latched afresh."""
    if offer.remote != leg.media.remote:
        leg.media.endpoint.source = None
        leg.media.endpoint.expected_ip = offer.remote[0] if offer.remote else None
    leg.offer = offer
    leg.media.remote = offer.remote
    codec = leg.media.codec
    if codec.audio_pt not in offer.audio_pts:
        leg.media.set_codec(Codec(offer.audio_pts[0], offer.event_pt))


async def _reoffer(call: ProxiedCall, leg: Leg, tx: ServerTransaction) -> None:
    request = tx.request
    other = call.other(leg)
    if not call.answered or other is None or other.dialog is None:
        tx.reply(491, "Request Pending")
        return
    assert leg.dialog is not None
    leg.dialog.update_target(request)
    if not request.body:
        tx.reply(200, headers=[("Contact", call.proxy.contact()), _SDP], body=local_sdp(leg))
        return
    try:
        offer = read_audio(request.body)
    except SdpError as exc:
        tx.reply(488, "Not Acceptable Here", headers=[("Warning", f'399 callrec "{exc}"'[:200])])
        return
    if request.method == "INVITE":
        tx.reply(100, "Trying")
    apply_remote(leg, offer)
    body = local_sdp(other, offer.direction)
    acks: list[bytes] = []

    def on_response(response: SipResponse) -> None:
        if acks and 200 <= response.status < 300:
            other.destination(call.proxy.send_udp).send(acks[0])  # our ACK was lost

    sent = call.proxy.in_dialog(other, request.method, [_SDP, ("Contact", call.proxy.contact())],
                                body, on_response)  # fmt: skip
    try:
        response = await asyncio.wait_for(asyncio.shield(sent.final), REOFFER_TIMEOUT_S)
    except TimeoutError:
        tx.reply(408)
        return
    if request.method == "INVITE" and 200 <= response.status < 300:
        assert other.dialog is not None
        ack = other.dialog.request("ACK", call.proxy.via(), cseq=sent.request.cseq.number)
        acks.append(ack.serialize())
        other.destination(call.proxy.send_udp).send(acks[0])
    if response.status >= 300:
        tx.reply(response.status, response.reason)
        return
    direction: Direction = "sendrecv"
    if response.body:
        try:
            answer = read_audio(response.body)
            apply_remote(other, answer)
            direction = answer.direction
        except SdpError:
            pass
    assert other.dialog is not None
    other.dialog.update_target(response)
    tx.reply(200, headers=[("Contact", call.proxy.contact()), _SDP],
             body=local_sdp(leg, direction))  # fmt: skip
    log.info("proxy.reoffer", call_id=call.call_id, by=leg.role, direction=offer.direction)


def _info(call: ProxiedCall, leg: Leg, tx: ServerTransaction) -> None:
    request = tx.request
    digit = info_digit(request.content_type, request.body)
    tx.reply(200)
    if call.ask_answer is not None and not call.answered and leg is call.a:
        if digit is not None:
            call.ask_answer.offer(digit, "info")
        return
    other = call.other(leg)
    if call.answered and other is not None and other.dialog is not None and digit is not None:
        content_type = request.content_type or "application/dtmf-relay"
        call.proxy.in_dialog(other, "INFO", [("Content-Type", content_type)], request.body)


def _notify(call: ProxiedCall, leg: Leg, frag: str, final: bool) -> None:
    state = "terminated;reason=noresource" if final else "active;expires=60"
    headers = [("Event", "refer"), ("Subscription-State", state),
               ("Contact", call.proxy.contact()),
               ("Content-Type", "message/sipfrag;version=2.0")]  # fmt: skip
    call.proxy.in_dialog(leg, "NOTIFY", headers, f"SIP/2.0 {frag}\r\n".encode())


async def _transfer(call: ProxiedCall, leg: Leg, tx: ServerTransaction) -> None:
    from callrec.telephony.proxy.call import CallFailed

    refer_to = tx.request.headers.get("Refer-To")
    stays = call.other(leg)
    if not call.answered or stays is None or call.bridge is None or refer_to is None:
        tx.reply(400 if refer_to is None else 491, "Bad Request" if refer_to is None else None)
        return
    try:
        target = NameAddr.parse(refer_to)
    except ValueError:
        tx.reply(400, "Bad Request", headers=[("Warning", '399 callrec "bad Refer-To"')])
        return
    if target.uri.headers:
        tx.reply(501, "Not Implemented", headers=[("Warning", '399 callrec "blind transfer only"')])
        return
    route = call.proxy.config.route(target.uri)
    if route is None:
        tx.reply(404, "No Route")
        return
    tx.reply(202, "Accepted", headers=[("Contact", call.proxy.contact())])
    _notify(call, leg, "100 Trying", final=False)
    codec = stays.media.codec
    new_id = f"{secrets.token_hex(10)}@callrec"
    new = await call.open_leg(leg.role, new_id, Codec(codec.audio_pt, codec.event_pt or 101),
                              route)  # fmt: skip
    new.party_aor, new.party_name = str(target.uri), target.display_name or ""
    call.proxy.register(new_id, call)
    identity = NameAddr.parse(stays.party_aor) if stays.party_aor else call.request.from_
    identity = NameAddr(identity.uri, stays.party_name or None)
    uri = SipUri("sip", target.uri.user, route[0], route[1])
    body = new.sdp.build(new.port_base, (codec.audio_pt,), new.media.codec.event_pt)
    invite = call.outgoing_invite(new, uri, identity, NameAddr(target.uri, target.display_name),
                                  body, 70)  # fmt: skip
    try:
        response = await call.dial(new, invite, route, relay=False)
        answer = read_audio(response.body)
    except (CallFailed, SdpError) as failed:
        status = failed.status if isinstance(failed, CallFailed) else 488
        _notify(call, leg, f"{status} {getattr(failed, 'reason', None) or 'Failed'}", final=True)
        if isinstance(failed, SdpError) and new.dialog is not None:
            call.proxy.in_dialog(new, "BYE")
        call.release_leg(new)
        call.proxy.forget_id(new_id)
        log.info("proxy.transfer_failed", call_id=call.call_id, status=status)
        return
    apply_remote(new, answer)
    call.replace_leg(leg, new)
    _notify(call, leg, "200 OK", final=True)
    a, b = call.a, call.b
    assert a is not None and b is not None
    parties = [Party(a.party_name, (a.party_aor,)), Party(b.party_name, (b.party_aor,))]
    if call.recording.call_ref is not None:
        await call.recording.next_segment(parties, call.bridge, call.evidence)
    else:
        reach = await asyncio.to_thread(
            capture_store.decide_call, call.proxy.rt, call.proxy.config.org_slug, parties
        )
        if reach.decision.record and reach.user_id is not None:
            await call.recording.start(reach, parties, call.bridge, call.evidence)
    if call.ended:  # hung up while the new segment's rows were written
        await call.recording.close_segment(datetime.now(UTC), call_ended=True)
        return
    log.info("proxy.transferred", call_id=call.call_id, by=leg.role, to=str(target.uri),
             recorded=call.recording.active)  # fmt: skip
    asyncio.get_running_loop().call_later(TRANSFEROR_BYE_S, _bye_retired, call, leg)


def _bye_retired(call: ProxiedCall, leg: Leg) -> None:
    if leg in call.retired and not leg.ended and not call.ended:
        leg.ended = True
        call.proxy.in_dialog(leg, "BYE")
        call.retired.remove(leg)
        call.release_leg(leg)
        call.proxy.forget_id(leg.call_id)
