from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from callrec.telephony.sip import (
    BodyPart,
    Headers,
    SipParseError,
    build_multipart,
    parse_content_type,
    parse_message,
    parse_multipart,
)
from tests.telephony.sip import samples

NS = {"r": "urn:ietf:params:xml:ns:recording:1"}


def test_siprec_invite_body_splits_into_sdp_and_metadata() -> None:
    invite = parse_message(samples.SIPREC_INVITE)
    sdp, metadata = parse_multipart(invite.body, invite.content_type or "")
    assert sdp == BodyPart("application/sdp", Headers(), samples.SIPREC_SDP)
    assert metadata.content_type == "application/rs-metadata+xml"
    assert metadata.headers.get("Content-Disposition") == "recording-session"
    assert metadata.body == samples.SIPREC_METADATA
    media = [line for line in sdp.body.split(b"\r\n") if line.startswith(b"m=")]
    assert media == [b"m=audio 20000 RTP/AVP 0 8 101", b"m=audio 20002 RTP/AVP 0 8 101"]
    assert sdp.body.count(b"a=sendonly") == 2
    assert b"a=label:1\r\n" in sdp.body and b"a=label:2\r\n" in sdp.body


def test_siprec_metadata_is_rfc7865_shaped() -> None:
    # A sanity check of the sample itself: the SIPREC layer will parse it for real.
    root = ET.fromstring(samples.SIPREC_METADATA)
    aors = [n.get("aor") for n in root.findall("r:participant/r:nameID", NS)]
    assert aors == ["sip:alice@atlanta.example.com", "tel:+15551234567"]
    labels = [s.findtext("r:label", namespaces=NS) for s in root.findall("r:stream", NS)]
    assert labels == ["1", "2"]
    assert len(root.findall("r:session", NS)) == 1
    assert len(root.findall("r:participantstreamassoc", NS)) == 2


def test_build_then_parse_round_trips() -> None:
    parts = [
        BodyPart("application/sdp", body=samples.SIPREC_SDP),
        BodyPart(
            "application/rs-metadata+xml",
            Headers([("Content-Disposition", "recording-session")]),
            samples.SIPREC_METADATA,
        ),
    ]
    content_type, body = build_multipart(parts, "OSS-unique-boundary-42")
    assert content_type == "multipart/mixed;boundary=OSS-unique-boundary-42"
    assert body == samples.SIPREC_BODY
    assert parse_multipart(body, content_type) == parts


def test_a_boundary_that_is_not_a_token_is_quoted() -> None:
    content_type, body = build_multipart([BodyPart("text/plain", body=b"x")], "a=b?c")
    assert content_type == 'multipart/mixed;boundary="a=b?c"'
    assert parse_multipart(body, content_type) == [BodyPart("text/plain", body=b"x")]


def test_lf_line_ends_preamble_epilogue_padding_and_default_type() -> None:
    body = (
        b"This is the preamble; --boundary42 mid-line is not a delimiter.\n"
        b"--boundary42  \t\n"
        b"Content-Type: application/sdp\n"
        b"\n"
        b"v=0\n"
        b"\n--boundary42\n"
        b"\n"
        b"no headers at all\n"
        b"--boundary42X is data, not a delimiter\n"
        b"--boundary42--\n"
        b"epilogue, ignored\n"
    )
    sdp, plain = parse_multipart(body, 'Multipart/Mixed ; boundary="boundary42"')
    assert sdp == BodyPart("application/sdp", Headers(), b"v=0\n")
    assert plain.content_type == "text/plain"
    assert plain.body == b"no headers at all\n--boundary42X is data, not a delimiter"


def test_parse_content_type() -> None:
    assert parse_content_type('multipart/mixed;boundary="a b";X=1') == (
        "multipart/mixed",
        {"boundary": "a b", "x": "1"},
    )
    for bad in ["", "multipart", "multi part/mixed", "a/b;", "a/b;c=", "a/b junk"]:
        with pytest.raises(SipParseError):
            parse_content_type(bad)


MIXED = "multipart/mixed;boundary=b"


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"--b\r\n\r\nx\r\n--b--\r\n", "application/sdp", "not a multipart"),
        (b"--b\r\n\r\nx\r\n--b--\r\n", "multipart/mixed", "boundary"),
        (b"--b\r\n\r\nx\r\n--b--\r\n", "multipart/mixed;boundary=" + "b" * 71, "boundary"),
        (b"", MIXED, "no closing boundary"),
        (b"no delimiter at all", MIXED, "no closing boundary"),
        (b"--b\r\n\r\nunterminated part", MIXED, "no closing boundary"),
        (b"--b--\r\n", MIXED, "no parts"),
        (b"--b\r\nContent-Type: text/plain\r\n--b--\r\n", MIXED, "blank line"),
        (b"--b\r\nContent-Type text/plain\r\n\r\nx\r\n--b--\r\n", MIXED, "without a colon"),
        (b"--b\r\nContent-Type: \xff\r\n\r\nx\r\n--b--\r\n", MIXED, "UTF-8"),
        (b"--b\r\nContent-Type: nonsense\r\n\r\nx\r\n--b--\r\n", MIXED, "Content-Type"),
        (b"--b\r\n\r\nx\r\n" * 65 + b"--b--\r\n", MIXED, "more than 64"),
    ],
)
def test_malformed_bodies_raise_sip_parse_error(body: bytes, content_type: str, error: str) -> None:
    with pytest.raises(SipParseError, match=error):
        parse_multipart(body, content_type)


def test_build_refuses_what_cannot_be_framed() -> None:
    with pytest.raises(ValueError, match="boundary"):
        build_multipart([BodyPart("text/plain", body=b"x")], "has space")
    with pytest.raises(ValueError, match="inside a part"):
        build_multipart([BodyPart("text/plain", body=b"a\r\n--b\r\n")], "b")
    with pytest.raises(ValueError, match="at least one"):
        build_multipart([], "b")
