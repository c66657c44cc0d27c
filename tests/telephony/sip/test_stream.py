from __future__ import annotations

import pytest

from callrec.telephony.sip import (
    SipParseError,
    SipRequest,
    SipResponse,
    parse_message,
    parse_stream,
)
from tests.telephony.sip import samples


def test_two_pipelined_messages_a_partial_third_and_keepalives() -> None:
    third = samples.SIPREC_INVITE
    buffer = bytearray(
        b"\r\n\r\n"  # RFC 5626 ping before anything
        + samples.SIPREC_INVITE
        + b"\r\n"  # pong between messages
        + samples.TRYING
        + b"\r\n\r\n"
        + third[:1500]  # headers complete, body not
    )
    first, second = parse_stream(buffer)
    assert isinstance(first, SipRequest) and first == parse_message(samples.SIPREC_INVITE)
    assert isinstance(second, SipResponse) and second.status == 100
    assert bytes(buffer) == third[:1500]  # the keep-alive before it is gone, the rest waits
    assert parse_stream(buffer) == []
    buffer += third[1500:] + samples.TERMINATED[:10]
    assert parse_stream(buffer) == [parse_message(third)]
    assert bytes(buffer) == samples.TERMINATED[:10]


def test_byte_at_a_time_gives_the_same_messages() -> None:
    stream = samples.SIPREC_INVITE + b"\r\n" + samples.OK_WITH_SDP + samples.TERMINATED
    buffer = bytearray()
    got = []
    for i in range(len(stream)):
        buffer.append(stream[i])
        got += parse_stream(buffer)
    assert got == [
        parse_message(m) for m in (samples.SIPREC_INVITE, samples.OK_WITH_SDP, samples.TERMINATED)
    ]
    assert buffer == b""


def test_stream_body_is_exactly_content_length_and_missing_means_zero() -> None:
    without_length = samples.TRYING.replace(b"Content-Length: 0\r\n", b"")
    buffer = bytearray(without_length + samples.TRYING)
    assert [m.body for m in parse_stream(buffer)] == [b"", b""]
    assert buffer == b""


def test_lone_cr_waits_for_its_lf() -> None:
    buffer = bytearray(samples.TRYING + b"\r")
    assert len(parse_stream(buffer)) == 1
    assert buffer == b"\r"
    buffer += b"\n" + samples.TRYING
    assert len(parse_stream(buffer)) == 1
    assert buffer == b""


def test_a_bad_message_after_good_ones_raises_on_the_next_call() -> None:
    bad = samples.options("OPTIONS sip:user@example.com SIP/7.0")
    buffer = bytearray(samples.TRYING + bad + samples.TRYING)
    assert len(parse_stream(buffer)) == 1
    assert buffer == bad + samples.TRYING
    with pytest.raises(SipParseError, match="not supported") as caught:
        parse_stream(buffer)
    assert caught.value.status == 505


def test_endless_headers_and_huge_content_length_are_refused() -> None:
    with pytest.raises(SipParseError, match="no end of headers"):
        parse_stream(bytearray(b"INVITE sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 12000))
    huge = samples.TRYING.replace(b"Content-Length: 0", b"Content-Length: 65536")
    with pytest.raises(SipParseError, match="larger than 65536"):
        parse_stream(bytearray(huge))
    assert parse_stream(bytearray(b"INVITE sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 100)) == []
