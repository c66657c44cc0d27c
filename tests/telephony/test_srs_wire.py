"""The recording server on the wire, with raw datagrams: OPTIONS pings, malformed messages
(answered 400 when a response can be built, never crashing or stalling the server), a plain
INVITE that is not a recording session, and retransmissions."""

from __future__ import annotations

import socket

from tests.telephony.test_siprec_sipp import Srs, srs  # noqa: F401

HEAD = (
    "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK{branch}\r\n"
    "From: <sip:sbc@127.0.0.1>;tag=1\r\nTo: <sip:srs@127.0.0.1>\r\n"
    "Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
)


def exchange(port: int, data: bytes, expect_reply: bool = True) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2.0 if expect_reply else 0.5)
        sock.sendto(data, ("127.0.0.1", port))
        try:
            reply, _ = sock.recvfrom(65536)
        except TimeoutError:
            return None
        return reply


def request(method: str, branch: str, call_id: str, extra: str = "", body: str = "") -> bytes:
    head = HEAD.format(branch=branch, call_id=call_id, method=method)
    return (f"{method} sip:srs@127.0.0.1 SIP/2.0\r\n{head}{extra}"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()  # fmt: skip


def test_options_is_answered(srs: Srs) -> None:  # noqa: F811
    reply = exchange(srs.port, request("OPTIONS", "a1", "ping-1"))
    assert reply is not None and reply.startswith(b"SIP/2.0 200")
    assert b"Allow: INVITE" in reply


def test_malformed_messages_get_400_or_nothing_and_the_server_goes_on(srs: Srs) -> None:  # noqa: F811
    bad_length = request("OPTIONS", "b1", "bad-1").replace(
        b"Content-Length: 0", b"Content-Length: 99"
    )
    reply = exchange(srs.port, bad_length)
    assert reply is not None and reply.startswith(b"SIP/2.0 400")
    assert b"Call-ID: bad-1" in reply and b"Warning: 399" in reply
    assert exchange(srs.port, b"\x00\xffnot sip at all\r\n\r\n", expect_reply=False) is None
    reply = exchange(srs.port, request("OPTIONS", "b2", "after-1"))
    assert reply is not None and reply.startswith(b"SIP/2.0 200")


def test_a_plain_invite_is_not_a_recording_session(srs: Srs) -> None:  # noqa: F811
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
        "t=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"
    )
    invite = request("INVITE", "c1", "plain-1", "Content-Type: application/sdp\r\n", sdp)
    reply = exchange(srs.port, invite)
    assert reply is not None and reply.startswith(b"SIP/2.0 400")
    assert b"multipart/mixed" in reply


def test_a_retransmitted_request_gets_the_same_answer(srs: Srs) -> None:  # noqa: F811
    ping = request("OPTIONS", "d1", "again-1")
    first, second = exchange(srs.port, ping), exchange(srs.port, ping)
    assert first is not None and first == second
