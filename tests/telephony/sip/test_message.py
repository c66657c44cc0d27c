from __future__ import annotations

import pytest

from callrec.telephony.sip import (
    CSeq,
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    parse_message,
    response_for,
)
from tests.telephony.sip import samples, torture
from tests.telephony.sip.samples import crlf, options, parse_request, parse_response


def test_siprec_invite_from_an_sbc() -> None:
    invite = parse_request(samples.SIPREC_INVITE)
    assert invite.method == "INVITE"
    assert invite.uri == SipUri.parse("sip:srs@recorder.example.com:5060;transport=tcp")
    assert invite.headers.get_all("Require") == ["siprec"]
    assert invite.headers.get_all("Supported") == ["timer", "replaces", "100rel"]
    contact = NameAddr.parse(invite.headers.get("Contact") or "")
    assert "+sip.src" in contact.params
    assert invite.call_id == "3c2a4e6f-8b1d-4a9c-9e7f-2d5b8c1a0f34@198.51.100.10"
    assert invite.cseq == CSeq(101, "INVITE")
    assert invite.from_.display_name == "SBC Recording Client"
    assert invite.from_.tag == "8c7e3f21"
    assert invite.to.tag is None
    assert invite.branch == "z9hG4bK-524287-1---7ab3f7a1c2d4e5f6"
    assert [via.transport for via in invite.vias] == ["TCP"]
    assert invite.max_forwards == 70
    assert invite.content_type == "multipart/mixed;boundary=OSS-unique-boundary-42"
    assert invite.body == samples.SIPREC_BODY
    assert "Content-Length" not in invite.headers  # framing, rebuilt from the body
    assert invite.serialize() == samples.SIPREC_INVITE


def test_siprec_invite_with_bare_lf_line_ends() -> None:
    head, _, body = samples.SIPREC_INVITE.partition(b"\r\n\r\n")
    lf_only = head.replace(b"\r\n", b"\n") + b"\n\n" + body
    assert parse_message(lf_only) == parse_message(samples.SIPREC_INVITE)
    assert parse_message(lf_only).serialize() == samples.SIPREC_INVITE


@pytest.mark.parametrize(
    ("data", "status", "reason", "body"),
    [
        (samples.OK_WITH_SDP, 200, "OK", samples.SRS_ANSWER_SDP),
        (samples.TRYING, 100, "Trying", b""),
        (samples.TERMINATED, 487, "Request Terminated", b""),
        (torture.NOREASON, 100, "", b""),
        (torture.UNREASON, 200, "= 2**3 * 5**2 но сто девяносто девять - простое", b""),
    ],
    ids=["200-sdp", "100", "487", "rfc4475-noreason", "rfc4475-unreason"],
)
def test_responses_round_trip(data: bytes, status: int, reason: str, body: bytes) -> None:
    parsed = parse_response(data)
    assert (parsed.status, parsed.body) == (status, body)
    assert parsed.reason == reason
    assert parsed.serialize() == data
    assert parse_message(parsed.serialize()) == parsed


def test_200_ok_accessors() -> None:
    ok = parse_response(samples.OK_WITH_SDP)
    assert ok.to.tag == "srs-77c1"
    assert ok.vias[0].rport == 5060
    assert ok.vias[0].received == "198.51.100.10"
    assert ok.content_type == "application/sdp"
    assert ok.body.count(b"a=recvonly") == 2


def test_datagram_octets_after_content_length_are_ignored() -> None:
    register = parse_request(torture.DBLREQ)
    assert (register.method, register.body) == ("REGISTER", b"")
    assert register.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"


def test_datagram_without_content_length_takes_the_rest_as_body() -> None:
    data = samples.SIPREC_INVITE.replace(b"Content-Length: 2718\r\n", b"")
    assert parse_request(data).body == samples.SIPREC_BODY


def test_leading_keepalive_crlfs_are_ignored() -> None:
    assert parse_message(b"\r\n\r\n" + samples.TRYING) == parse_message(samples.TRYING)


def test_serialize_always_writes_the_right_content_length() -> None:
    built = SipRequest(
        "BYE",
        SipUri.parse("sip:src@198.51.100.10:5060;transport=tcp"),
        Headers(
            [
                ("Via", "SIP/2.0/TCP 203.0.113.5:5060;branch=z9hG4bK-bye1"),
                ("Max-Forwards", "70"),
                ("From", "<sip:srs@recorder.example.com>;tag=srs-77c1"),
                ("To", '"SBC Recording Client" <sip:src@sbc.example.com>;tag=8c7e3f21'),
                ("Call-ID", "3c2a4e6f@198.51.100.10"),
                ("CSeq", "2 BYE"),
                ("l", "999"),
            ]
        ),
        b"x",
    )
    wire = built.serialize()
    assert wire.count(b"Content-Length") == 1
    assert wire.endswith(b"\r\nContent-Length: 1\r\n\r\nx")
    assert b"l: 999" not in wire
    assert parse_request(wire).body == b"x"


def test_response_for_copies_the_transaction_headers() -> None:
    invite = parse_request(torture.TRANSPORTS.replace(b"l: 0", b"Timestamp: 54\r\nl: 0"))
    trying = response_for(invite, 100)
    assert (trying.status, trying.reason) == (100, "Trying")
    assert trying.headers.get_all("Via") == invite.headers.get_all("Via")
    assert trying.from_ == invite.from_
    assert trying.to == invite.to and trying.to.tag is None
    assert (trying.call_id, trying.cseq) == (invite.call_id, invite.cseq)
    assert trying.headers.get("Timestamp") == "54"
    ok = response_for(
        invite, 200, to_tag="srs-1", headers=[("Contact", "<sip:srs@203.0.113.5>")], body=b"v=0\r\n"
    )
    assert (ok.reason, ok.to.tag, ok.to.uri, ok.body) == ("OK", "srs-1", invite.to.uri, b"v=0\r\n")
    assert ok.headers.get("Contact") == "<sip:srs@203.0.113.5>"
    assert "Timestamp" not in ok.headers
    assert parse_message(ok.serialize()) == ok


def test_response_for_keeps_an_existing_to_tag_and_takes_a_reason() -> None:
    in_dialog = parse_request(
        options(extra="").replace(b"To: <sip:user@example.com>", b"To: <sip:u@e>;tag=a")
    )
    answer = response_for(in_dialog, 488, to_tag="other")
    assert (answer.reason, answer.to.tag) == ("Not Acceptable Here", "a")
    assert response_for(in_dialog, 599).reason == "Server Error"
    assert response_for(in_dialog, 400, "Bad Request (missing Call-ID)").reason.endswith("Call-ID)")


def test_typed_parse_entry_points() -> None:
    assert SipRequest.parse(samples.SIPREC_INVITE).method == "INVITE"
    assert SipResponse.parse(samples.TRYING).status == 100
    with pytest.raises(SipParseError, match="expected a request"):
        SipRequest.parse(samples.TRYING)
    with pytest.raises(SipParseError, match="expected a response"):
        SipResponse.parse(samples.SIPREC_INVITE)


def test_serialize_refuses_what_cannot_be_sent() -> None:
    with pytest.raises(ValueError, match="method"):
        SipRequest("IN VITE", SipUri.parse("sip:a@b")).serialize()
    with pytest.raises(ValueError, match="status"):
        SipResponse(99, "Low").serialize()
    with pytest.raises(ValueError, match="status"):
        SipResponse(200, "O\r\nK").serialize()


def test_crlf_helper_matches_the_wire() -> None:
    assert crlf("a\nb\n") == b"a\r\nb\r\n"
