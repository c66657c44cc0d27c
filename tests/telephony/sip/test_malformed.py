"""Malformed messages (RFC 4475 §3.1.2 and our limits) raise SipParseError saying why."""

from __future__ import annotations

import pytest

from callrec.telephony.sip import SipParseError, parse_message
from tests.telephony.sip.samples import options, parse_request


def _without(name: bytes) -> bytes:
    return b"".join(
        line for line in options().splitlines(keepends=True) if not line.startswith(name + b":")
    )


MALFORMED = [
    (b"", "empty message"),
    (b"\r\n\r\n", "empty message"),
    (options().replace(b"\r\n\r\n", b"\r\n"), "no blank line"),
    (options().replace(b"SIP/2.0\r\nVia", b"SIP/2.0\r\n Via"), "continuation line before"),
    (options("INVITE sip:user@example.com"), "request line"),
    (options("INVITE  sip:user@example.com; lr SIP/2.0"), "request line"),  # RFC 4475 §3.1.2.8
    (options("OPTIONS <sip:user@example.com> SIP/2.0"), "malformed URI"),  # §3.1.2.7
    (options("OPTIONS sip:user@example.com?Route=%3Csip:a%3E SIP/2.0"), "URI headers"),  # .11
    (options("OPTIONS sip:user@example.com SIP/2.0 extra"), "request line"),
    (options("OPTI:ONS sip:user@example.com SIP/2.0"), "invalid method"),
    (options("OPTIONS sip:user@example.com HTTP/1.1"), "malformed SIP version"),
    (options("OPTIONS sip:user@example.com SIP/7.0"), "version 'SIP/7.0' not supported"),  # .16
    (options(" OPTIONS sip:user@example.com SIP/2.0"), "start line"),
    (options("SIP/2.0 4294967301 better not break the receiver"), "three digits"),  # §3.1.2.19
    (options("SIP/2.0 099 Too Low"), "out of range"),
    (options("SIP/2.0 700 Too High"), "out of range"),
    (options("SIP/2.0 2OO OK"), "three digits"),
    (options("SIP/2.0"), "three digits"),
    (options(extra="Via SIP/2.0/UDP host\n"), "without a colon"),
    (_without(b"Call-ID"), "missing Call-ID"),
    (_without(b"CSeq"), "missing CSeq"),
    (_without(b"From"), "missing From"),
    (_without(b"To"), "missing To"),
    (_without(b"Via"), "missing Via"),
    (options(extra="Call-ID: second@192.0.2.1\n"), "more than one Call-ID"),  # §3.3.8
    (options(extra="CSeq: 2 OPTIONS\n"), "more than one CSeq"),
    (options(extra="Max-Forwards: 71\n"), "more than one Max-Forwards"),
    (options(extra="Max-Forwards: 300\n").replace(b"Max-Forwards: 70\r\n", b""), "exceeds"),  # .4
    (options().replace(b"Call-ID: minimal.1@192.0.2.1", b"Call-ID:"), "empty Call-ID"),
    (options().replace(b"Call-ID: minimal.1@", b"Call-ID: two words@"), "whitespace"),
    (options().replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), "does not match"),  # §3.1.2.17
    (options("NEWMETHOD sip:user@example.com SIP/2.0"), "does not match"),  # §3.1.2.18
    (options().replace(b"CSeq: 1 OPTIONS", b"CSeq: 36893488147419103232 OPTIONS"), "exceeds"),
    (
        options().replace(b"<sip:caller@example.net>", b'"Mr. J. <sip:j@example.com>'),
        "quoted",  # §3.1.2.6
    ),
    (
        options().replace(b"Via: SIP/2.0/UDP 192.0.2.1", b"Via: SIP/2.0/UDP 192.0.2.1;;,;,,"),
        "param",  # §3.1.2.1
    ),
    (options().replace(b"Content-Length: 0", b"Content-Length: -999"), "not a decimal"),  # .3
    (options().replace(b"Content-Length: 0", b"Content-Length: 9999"), "body has 0"),  # §3.1.2.2
    (options().replace(b"Content-Length: 0", b"Content-Length: 99999999999999999999"), "exceeds"),
    (options(extra="l: 5\n"), "conflicting Content-Length"),  # §3.3.9
    (options("OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0"), "unsupported URI"),
    (options().replace(b"From: <sip:caller", b"From: <sip:caf\xc3"), "not valid UTF-8"),
    (options().replace(b"Max-Forwards: 70", b"Max-Forwards: 7\r0"), "bare CR"),
]


@pytest.mark.parametrize(("data", "error"), MALFORMED, ids=[error for _, error in MALFORMED])
def test_malformed_messages_raise_one_error_saying_what_is_wrong(data: bytes, error: str) -> None:
    with pytest.raises(SipParseError, match=error):
        parse_message(data)


def test_the_error_carries_the_status_to_answer() -> None:
    cases = {
        options("OPTIONS sip:user@example.com SIP/7.0"): 505,
        options("OPTIONS nobodyknowsthisscheme:totallyopaquecontent SIP/2.0"): 416,
        options(extra="X-Pad: " + "a" * 65536 + "\n"): 513,
        options(extra="X-Missing-Colon\n"): 400,
    }
    for data, status in cases.items():
        with pytest.raises(SipParseError) as caught:
            parse_message(data)
        assert caught.value.status == status, data[:60]


def test_size_and_header_count_limits() -> None:
    padding = "X-Pad: " + "a" * (65536 - len(options()) - 9) + "\n"
    assert len(options(extra=padding)) == 65536
    assert parse_message(options(extra=padding)).headers.get("X-Pad") is not None
    with pytest.raises(SipParseError, match="larger than 65536"):
        parse_message(options(extra="a" + padding))
    many = "".join(f"X-H{i}: {i}\n" for i in range(200 - 7))  # + 6 minimal + Content-Length
    assert len(parse_message(options(extra=many)).headers) == 199  # Content-Length is dropped
    with pytest.raises(SipParseError, match="more than 200 headers"):
        parse_message(options(extra=many + "X-One-Too-Many: 1\n"))


def test_a_multiple_sp_request_line_is_tolerated_and_normalised() -> None:
    # RFC 4475 §3.1.2.9/.10 let a liberal element accept extra SP; it must not forward them.
    data = options("OPTIONS  sip:user@example.com  SIP/2.0  ")
    assert parse_request(data).serialize().startswith(b"OPTIONS sip:user@example.com SIP/2.0\r\n")
    assert parse_request(options("OPTIONS sip:user@example.com sip/2.0")).method == "OPTIONS"
