from __future__ import annotations

import pytest

from callrec.telephony.sip import CSeq, NameAddr, SipParseError, SipUri, Via


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@atlanta.example.com",
        "sips:bob@biloxi.example.com:5061;transport=tcp",
        "sip:srs@recorder.example.com:5060;transport=tcp;lr",
        "sip:+15551234567@gw.example.com;user=phone",
        "sip:[2001:db8::10]:5070;maddr=239.255.255.1",
        "sip:alice@192.0.2.4?Subject=project%20x&Priority=urgent",
        "sip:sips%3Auser%40example.com@example.net",
        "sip:user;par=u%40example.net@example.com",
        "sip:alice:secret@example.com",
        "sip:registrar.example.com",
        "tel:+15551234567",
        "tel:7042;phone-context=example.com",
    ],
)
def test_uris_round_trip(text: str) -> None:
    uri = SipUri.parse(text)
    assert uri.serialize() == str(uri) == text
    assert SipUri.parse(uri.serialize()) == uri


def test_uri_fields() -> None:
    uri = SipUri.parse("SIP:Alice@Atlanta.Example.com:05060;Transport=UDP;lr?Subject=hi")
    assert uri == SipUri(
        "sip",
        "Alice",
        "Atlanta.Example.com",
        5060,
        {"transport": "UDP", "lr": None},
        {"Subject": "hi"},
    )


def test_escapes_stay_as_received() -> None:
    uri = SipUri.parse("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
    assert uri.user == "cal%6Cer"
    assert uri.params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}


def test_semicolons_and_question_marks_belong_to_the_user_part_before_the_at() -> None:
    uri = SipUri.parse("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1@example.com")
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1"
    assert uri.host == "example.com"
    assert uri.params == {}


def test_ipv6_and_tel() -> None:
    assert SipUri.parse("sip:[::1]").host == "[::1]"
    tel = SipUri.parse("tel:+1-555-123-4567;ext=22")
    assert (tel.scheme, tel.user, tel.host, tel.params) == (
        "tel",
        "+1-555-123-4567",
        "",
        {"ext": "22"},
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sip:",
        "alice@example.com",
        "<sip:user@example.com>",
        "sip:user@example.com; lr",
        "sip:user@exa mple.com",
        "sip:@example.com",
        "sip:user@",
        "sip:user@host:port",
        "sip:user@host:70000",
        "sip:user@2001:db8::1",
        "sip:user@[2001:db8::1",
        "sip:user@example.com;=x",
        "sip:user@example.com;a=",
        "sip:user@example.com?noequals",
        "sip:I%2have@example.com",
        "sip:caf\u00e9@example.com",
        "sip:user@-",
        "tel:",
        "tel:+1555 1234",
        "tel:+1555?x=y",
        "1sip:user@example.com",
    ],
)
def test_malformed_uris_are_refused(text: str) -> None:
    with pytest.raises(SipParseError):
        SipUri.parse(text)


@pytest.mark.parametrize(
    "text", ["http://www.example.com", "isbn:2983792873", "name:John_Smith", "urn:service:sos"]
)
def test_other_schemes_are_kept_opaque(text: str) -> None:
    uri = SipUri.parse(text)
    assert (uri.user, uri.host, uri.params) == (text.partition(":")[2], "", {})
    assert str(uri) == text


@pytest.mark.parametrize(
    ("text", "display", "uri", "params"),
    [
        (
            '"SBC Recording Client" <sip:src@sbc.example.com>;tag=8c7e3f21',
            "SBC Recording Client",
            "sip:src@sbc.example.com",
            {"tag": "8c7e3f21"},
        ),
        (
            '"J Rosenberg \\\\\\""  <sip:jdrosen@example.com> ;\n tag = 98',
            'J Rosenberg \\"',
            "sip:jdrosen@example.com",
            {"tag": "98"},
        ),
        (
            "caller<sip:caller@example.com>;tag=323",
            "caller",
            "sip:caller@example.com",
            {"tag": "323"},
        ),
        ("Bob  Smith <sip:bob@b.example.com>", "Bob Smith", "sip:bob@b.example.com", {}),
        (
            "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
            None,
            "sip:vivekg@chair-dnrc.example.com",
            {"tag": "1918181833n"},
        ),
        (
            "<sip:src@198.51.100.10:5060;transport=tcp>;+sip.src",
            None,
            "sip:src@198.51.100.10:5060;transport=tcp",
            {"+sip.src": None},
        ),
        (
            '<sip:a@192.0.2.1>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";Expires=60',
            None,
            "sip:a@192.0.2.1",
            {"+sip.instance": '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"', "expires": "60"},
        ),
        ('"" <tel:+15551234567>', "", "tel:+15551234567", {}),
    ],
)
def test_name_addr_forms(
    text: str, display: str | None, uri: str, params: dict[str, str | None]
) -> None:
    parsed = NameAddr.parse(text.replace("\n", ""))
    assert (parsed.display_name, str(parsed.uri), parsed.params) == (display, uri, params)
    assert NameAddr.parse(parsed.serialize()) == parsed


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (NameAddr(SipUri.parse("sip:a@b"), "Alice Smith"), "Alice Smith <sip:a@b>"),
        (NameAddr(SipUri.parse("sip:a@b"), "Watson, Thomas"), '"Watson, Thomas" <sip:a@b>'),
        (NameAddr(SipUri.parse("sip:a@b"), 'say "hi"\\'), '"say \\"hi\\"\\\\" <sip:a@b>'),
        (NameAddr(SipUri.parse("sip:a@b"), "BEL:\x07"), '"BEL:\\\x07" <sip:a@b>'),
        (NameAddr(SipUri.parse("sip:a@b;lr"), None, {"tag": "x"}), "<sip:a@b;lr>;tag=x"),
    ],
)
def test_name_addr_serialisation_quotes_only_when_needed(value: NameAddr, shown: str) -> None:
    assert value.serialize() == shown
    assert NameAddr.parse(shown) == value


def test_name_addr_tag() -> None:
    assert NameAddr.parse("<sip:a@b>;TAG=abc").tag == "abc"
    assert NameAddr.parse("<sip:a@b>").tag is None


@pytest.mark.parametrize(
    "text",
    [
        '"Mr. J. User <sip:j.user@example.com>',  # RFC 4475 §3.1.2.6 unterminated quote
        '"Watson, Thomas" < sip:t.watson@example.org >',  # §3.1.2.14 spaces inside <>
        "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",  # §3.1.2.15 comma unquoted
        '"a" "b" <sip:x@y>',
        "<sip:x@y",
        "<sip:x@y> junk",
        "<sip:x@y>;tag=",
        '<sip:x@y>;p="open',
        '<sip:x@y>;p="closed"junk',
        "<sip:x@y>;;tag=1",
        "<sip:x@y>;a b=1",
        "*",
        "",
    ],
)
def test_malformed_name_addrs_are_refused(text: str) -> None:
    with pytest.raises(SipParseError):
        NameAddr.parse(text)


def test_name_addr_cannot_serialise_a_line_break() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        NameAddr(SipUri.parse("sip:a@b"), "two\nlines").serialize()


def test_via_fields_and_round_trip() -> None:
    via = Via.parse("SIP/2.0/udp 198.51.100.10:5060;branch=z9hG4bK776;rport;received=192.0.2.9")
    assert via == Via(
        "UDP",
        "198.51.100.10",
        5060,
        {"branch": "z9hG4bK776", "rport": None, "received": "192.0.2.9"},
    )
    assert (via.branch, via.received, via.rport) == ("z9hG4bK776", "192.0.2.9", None)
    assert "rport" in via.params
    assert str(via) == "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK776;rport;received=192.0.2.9"
    answered = Via.parse("SIP/2.0/TCP [2001:db8::9]:5070;rport=40123;received=[2001:db8::1]")
    assert (answered.host, answered.port, answered.rport) == ("[2001:db8::9]", 5070, 40123)
    assert answered.received == "[2001:db8::1]"
    assert Via.parse(str(answered)) == answered


def test_via_with_unusual_spacing() -> None:
    via = Via.parse(" SIP  /    2.0   / UDP  192.168.255.111 : 5060  ; branch= z9hG4bK30239 ")
    assert via == Via("UDP", "192.168.255.111", 5060, {"branch": "z9hG4bK30239"})


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0 host",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ",
        "SIP/2.0/UDPhost",
        "SIP/2.0/UDP 192.0.2.15;;",
        ";",
        "SIP/2.0/UDP host;rport=abc",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP host extra",
    ],
)
def test_malformed_vias_are_refused(text: str) -> None:
    with pytest.raises(SipParseError):
        Via.parse(text)


def test_cseq() -> None:
    assert CSeq.parse("0009\t INVITE") == CSeq(9, "INVITE")
    assert str(CSeq(2**31 - 1, "BYE")) == "2147483647 BYE"
    for bad in ["", "1", "INVITE 1", "1 INVITE x", "-1 INVITE", "2147483648 INVITE", "1 IN/VITE"]:
        with pytest.raises(SipParseError):
            CSeq.parse(bad)
    with pytest.raises(SipParseError, match="exceeds"):
        CSeq.parse("36893488147419103232 INVITE")  # RFC 4475 §3.1.2.4
