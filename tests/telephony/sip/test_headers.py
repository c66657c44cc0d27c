from __future__ import annotations

import pytest

from callrec.telephony.sip import COMPACT_FORMS, Headers, SipParseError
from callrec.telephony.sip.headers import split_head


def parse(text: str) -> Headers:
    return Headers.parse(split_head(text.rstrip("\n").encode()))


@pytest.mark.parametrize(("compact", "long"), sorted(COMPACT_FORMS.items()))
def test_compact_and_long_forms_find_each_other(compact: str, long: str) -> None:
    headers = Headers([(compact, "value")])
    assert headers.get(long) == "value"
    assert headers.get(long.upper()) == "value"
    assert headers.get(compact.upper()) == "value"
    assert long in headers
    assert list(headers) == [(compact, "value")]  # the name is written back as it came


def test_the_rfc_3261_compact_forms_are_all_there() -> None:
    assert {k: COMPACT_FORMS[k] for k in "imelcfsktv"} == {
        "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
        "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to", "v": "via",
    }  # fmt: skip


def test_names_are_case_insensitive_and_keep_their_spelling() -> None:
    headers = parse("MaX-fOrWaRdS: 0068\ncall-id: abc")
    assert headers.get("Max-Forwards") == "0068"
    assert headers.get("CALL-ID") == headers.get("i") == "abc"
    assert headers.serialize() == "MaX-fOrWaRdS: 0068\r\ncall-id: abc\r\n"


def test_folded_lines_are_unfolded_into_one_value() -> None:
    headers = parse("Subject: a\n  folded\n\tsubject\nVia  : SIP  /   2.0\n /UDP\n    192.0.2.2")
    assert headers.get("Subject") == "a folded subject"
    assert headers.get("Via") == "SIP  /   2.0 /UDP 192.0.2.2"
    assert len(headers) == 2


def test_whitespace_around_the_colon_and_empty_values() -> None:
    headers = parse("Content-Length   : 150\ns :\nX-Empty:")
    assert headers.get("l") == "150"
    assert headers.get("Subject") == ""
    assert headers.get_all("X-Empty") == [""]


def test_list_headers_split_on_commas_outside_quotes_and_angle_brackets() -> None:
    headers = parse(
        'Contact: "Watson, Thomas" <sip:t.watson@example.org>, <sip:a,b@example.org;x=1>\n'
        'Contact: "say \\"hi, there\\"" <sip:c@example.org>\n'
        "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/TCP b.example.com\n"
        "Allow: INVITE,ACK , BYE,,\n"
    )
    assert headers.get_all("m") == [
        '"Watson, Thomas" <sip:t.watson@example.org>',
        "<sip:a,b@example.org;x=1>",
        '"say \\"hi, there\\"" <sip:c@example.org>',
    ]
    assert headers.get_all("Via") == [
        "SIP/2.0/UDP a.example.com;branch=z9hG4bK1",
        "SIP/2.0/TCP b.example.com",
    ]
    assert headers.get("v") == "SIP/2.0/UDP a.example.com;branch=z9hG4bK1"  # the top Via
    assert headers.get_all("Allow") == ["INVITE", "ACK", "BYE"]


def test_other_headers_keep_their_commas() -> None:
    headers = parse(
        "Subject: lunch, then coffee\n"
        "Date: Sat, 13 Nov 2010 23:29:00 GMT\n"
        'WWW-Authenticate: Digest realm="a", nonce="b"\n'
        "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
    )
    assert headers.get_all("Subject") == ["lunch, then coffee"]
    assert headers.get("Date") == "Sat, 13 Nov 2010 23:29:00 GMT"
    assert headers.get("WWW-Authenticate") == 'Digest realm="a", nonce="b"'
    assert headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"


def test_add_set_remove_keep_wire_order() -> None:
    headers = Headers([("Via", "v1"), ("To", "t"), ("v", "v2"), ("Route", "r")])
    headers.add("Via", "v3")
    assert headers.get_all("Via") == ["v1", "v2", "v3"]
    headers.set("VIA", "only")
    assert list(headers) == [("VIA", "only"), ("To", "t"), ("Route", "r")]
    headers.set("Subject", "new")
    assert list(headers)[-1] == ("Subject", "new")
    headers.remove("t")
    headers.remove("Absent")
    assert [name for name, _ in headers] == ["VIA", "Route", "Subject"]
    assert headers.get("To") is None
    assert headers.get("To", "default") == "default"


def test_equality_compares_canonical_names_values_and_order() -> None:
    assert Headers([("i", "x"), ("f", "y")]) == Headers([("Call-ID", "x"), ("FROM", "y")])
    assert Headers([("i", "x"), ("f", "y")]) != Headers([("f", "y"), ("i", "x")])
    copy = Headers([("To", "a")]).copy()
    copy.add("To", "b")
    assert copy.get_all("To") == ["a", "b"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Evil", "a\r\nVia: forged"),
        ("X-Evil", "a\nb"),
        ("Bad Name", "v"),
        ("", "v"),
        ("a:b", "v"),
    ],
)
def test_building_refuses_header_injection(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="header"):
        Headers().add(name, value)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (" folded: before any header", "continuation line before the first header"),
        ("Via SIP/2.0/UDP host", "without a colon"),
        ("Bad Name: x", "invalid header name"),
        (": no name", "invalid header name"),
        ("Caf\u00e9: x", "invalid header name"),
    ],
)
def test_malformed_header_lines_are_refused(text: str, error: str) -> None:
    with pytest.raises(SipParseError, match=error):
        parse(text)


def test_too_many_headers_are_refused() -> None:
    lines = [f"X-H{i}: {i}" for i in range(201)]
    assert len(Headers.parse(lines[:200])) == 200
    with pytest.raises(SipParseError, match="more than 200 headers"):
        Headers.parse(lines)


def test_split_head_accepts_lf_and_crlf_but_not_bare_cr_or_bad_utf8() -> None:
    assert split_head(b"A: 1\r\nB: 2\nC: 3") == ["A: 1", "B: 2", "C: 3"]
    with pytest.raises(SipParseError, match="bare CR"):
        split_head(b"A: 1\rB: 2")
    with pytest.raises(SipParseError, match="not valid UTF-8"):
        split_head(b"A: \xff")
