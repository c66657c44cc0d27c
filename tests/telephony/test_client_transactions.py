"""Client transactions and dialogs on real UDP sockets: Timer A retransmits an INVITE until a
response, the ACK of a non-2xx goes out (again for each retransmission of it), Timer E for
other requests, CANCEL waits for a provisional, Timer B gives a local 408; a dialog builds its
requests from the 2xx (tags, CSeq, Contact as the target)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from callrec.telephony import client_transactions
from callrec.telephony.client_transactions import ClientTransactions, Destination, new_branch
from callrec.telephony.dialog import Dialog
from callrec.telephony.sip import (
    Headers,
    SipRequest,
    SipResponse,
    SipUri,
    parse_message,
    response_for,
)

Received = list[tuple[float, SipRequest]]


def _invite(method: str = "INVITE", cseq: int = 1) -> SipRequest:
    headers = Headers([
        ("Via", f"SIP/2.0/UDP 127.0.0.1:5999;branch={new_branch()}"),
        ("From", "<sip:a@127.0.0.1>;tag=ours"), ("To", "<sip:b@127.0.0.1>"),
        ("Call-ID", "ct-1@test"), ("CSeq", f"{cseq} {method}"), ("Max-Forwards", "70"),
    ])  # fmt: skip
    return SipRequest(method, SipUri.parse("sip:b@127.0.0.1"), headers)


def _run(body: Callable[[socket.socket, ClientTransactions, Destination], Awaitable[None]]) -> None:
    async def main() -> None:
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        ours = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ours.bind(("127.0.0.1", 0))
        addr = peer.getsockname()
        dest = Destination(addr, lambda data: ours.sendto(data, addr))
        clients = ClientTransactions()
        try:
            await body(peer, clients, dest)
        finally:
            clients.close()
            peer.close()
            ours.close()

    asyncio.run(main())


async def _collect(peer: socket.socket, seconds: float) -> Received:
    loop = asyncio.get_running_loop()
    got: Received = []
    start = time.monotonic()
    deadline = start + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            data = await asyncio.wait_for(loop.sock_recv(peer, 4096), left)
        except TimeoutError:
            break
        message = parse_message(data)
        assert isinstance(message, SipRequest)
        got.append((time.monotonic() - start, message))
    return got


def test_an_invite_is_retransmitted_on_timer_a_and_a_486_is_acked_by_the_transaction() -> None:
    async def body(peer: socket.socket, clients: ClientTransactions, dest: Destination) -> None:
        seen: list[SipResponse] = []
        request = _invite()
        tx = clients.send(request, dest, seen.append)
        got = await _collect(peer, 1.8)
        assert [m.method for _, m in got] == ["INVITE"] * 3  # at 0, T1, 3·T1
        assert got[1][0] == pytest.approx(0.5, abs=0.15)
        assert got[2][0] == pytest.approx(1.5, abs=0.2)
        busy = response_for(request, 486, to_tag="theirs")
        clients.on_response(busy)
        clients.on_response(busy)  # a retransmission of it
        acks = await _collect(peer, 0.7)
        assert [m.method for _, m in acks] == ["ACK", "ACK"]
        ack = acks[0][1]
        assert ack.branch == request.branch and ack.to.tag == "theirs"
        assert str(ack.cseq) == "1 ACK"
        assert [r.status for r in seen] == [486] and tx.final.result().status == 486

    _run(body)


def test_a_provisional_stops_invite_retransmissions_and_cancel_waits_for_it() -> None:
    async def body(peer: socket.socket, clients: ClientTransactions, dest: Destination) -> None:
        request = _invite()
        tx = clients.send(request, dest)
        clients.cancel(tx)  # nothing back yet: the CANCEL must wait
        first = await _collect(peer, 0.3)
        assert [m.method for _, m in first] == ["INVITE"]
        clients.on_response(response_for(request, 180, to_tag="theirs"))
        later = await _collect(peer, 1.4)
        assert [m.method for _, m in later] == ["CANCEL", "CANCEL"]  # Timer E, no INVITE
        cancel = later[0][1]
        assert cancel.branch == request.branch and str(cancel.cseq) == "1 CANCEL"
        assert cancel.to.tag is None

    _run(body)


def test_a_request_nobody_answers_times_out_with_a_local_408(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_transactions, "T1", 0.01)

    async def body(peer: socket.socket, clients: ClientTransactions, dest: Destination) -> None:
        tx = clients.send(_invite("BYE", 2), dest)
        response = await asyncio.wait_for(tx.final, 2)
        assert response.status == 408
        got = await _collect(peer, 0.1)
        assert len(got) >= 5  # Timer E kept resending until Timer F

    _run(body)


def test_a_dialog_from_a_2xx_routes_and_numbers_its_requests() -> None:
    request = _invite()
    ok = response_for(request, 200, to_tag="theirs",
                      headers=[("Contact", "<sip:b@127.0.0.1:6123>")])  # fmt: skip
    dialog = Dialog.as_uac(request, ok, ("127.0.0.1", 5060))
    ack = dialog.request("ACK", "SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKack", cseq=1)
    bye = dialog.request("BYE", "SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKbye")
    assert str(ack.cseq) == "1 ACK" and str(bye.cseq) == "2 BYE"
    assert bye.from_.tag == "ours" and bye.to.tag == "theirs"
    assert str(bye.uri) == "sip:b@127.0.0.1:6123" and dialog.destination() == ("127.0.0.1", 6123)
    reply = parse_message(bye.serialize())
    assert isinstance(reply, SipRequest) and reply.call_id == "ct-1@test"
    # The peer's requests must carry its tags and a CSeq that moves on.
    incoming = _invite("BYE", 5)
    incoming.headers.set("From", "<sip:b@127.0.0.1>;tag=theirs")
    incoming.headers.set("To", "<sip:a@127.0.0.1>;tag=ours")
    assert dialog.accepts(incoming) and not dialog.accepts(incoming)  # the second is stale
