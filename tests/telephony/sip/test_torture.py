"""RFC 4475 torture tests: the valid messages we must accept, as their bytes."""

from __future__ import annotations

from callrec.telephony.sip import CSeq, NameAddr, SipUri, Via, parse_message
from tests.telephony.sip import torture
from tests.telephony.sip.samples import parse_request


def test_rfc4475_short_tortuous_invite() -> None:
    invite = parse_request(torture.WSINV)
    assert invite.uri.params == {"unknownparam": None}
    assert invite.to == NameAddr(
        SipUri.parse("sip:vivekg@chair-dnrc.example.com"), None, {"tag": "1918181833n"}
    )
    assert invite.from_.display_name == 'J Rosenberg \\"'
    assert invite.from_.tag == "98asjd8"
    assert invite.max_forwards == 68
    assert invite.cseq == CSeq(9, "INVITE")
    assert invite.vias == [
        Via("UDP", "192.0.2.2", None, {"branch": "390skdjuw"}),
        Via("TCP", "spindle.example.com", None, {"branch": "z9hG4bK9ikj8"}),
        Via("UDP", "192.168.255.111", None, {"branch": "z9hG4bK30239"}),
    ]
    assert invite.headers.get("Subject") == ""
    assert invite.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert invite.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    contact = NameAddr.parse(invite.headers.get("Contact") or "")
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    route = NameAddr.parse(invite.headers.get("Route") or "")
    assert route.uri.params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}
    assert invite.body == torture.TORTURE_SDP
    assert parse_message(invite.serialize()) == invite


def test_rfc4475_wide_range_of_valid_characters() -> None:
    invite = parse_request(torture.INTMETH)
    assert invite.method == "!interesting-Method0123456789_*+`.%indeed'~"
    unusual = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
    assert invite.uri.user == unusual + "(doesn't-it)"
    assert invite.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert invite.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert invite.from_.params["fromparam''~+*_!.-%"] == '"работающий"'
    assert invite.from_.tag == "_token~1'+`*%!-."
    assert invite.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert invite.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"
    assert invite.max_forwards == 255
    assert parse_message(invite.serialize()) == invite


def test_rfc4475_escapes_semicolons_and_compact_forms() -> None:
    esc = parse_request(torture.ESC01)
    assert esc.uri.user == "sips%3Auser%40example.com"
    assert esc.to.uri.user == "%75se%72"
    assert esc.from_.uri.user == "I%20have%20spaces"
    assert esc.call_id == "esc01.239409asdfakjkn23onasd0-3234"
    assert esc.content_type == "application/sdp"  # "C:" in the message
    assert parse_request(torture.LWSDISP).from_.display_name == "caller"
    semi = parse_request(torture.SEMIURI)
    assert (semi.uri.user, semi.uri.host) == ("user;par=u%40example.net", "example.com")
    assert semi.headers.get_all("Accept")[-1] == "message/sipfrag"
    assert len(semi.headers.get_all("Accept")) == 6


def test_rfc4475_transports_and_multiple_vias_in_one_header() -> None:
    options_request = parse_request(torture.TRANSPORTS)
    assert [(v.transport, v.host) for v in options_request.vias] == [
        ("UDP", "t1.example.com"),
        ("SCTP", "t2.example.com"),
        ("TLS", "t3.example.com"),
        ("UNKNOWN", "t4.example.com"),
        ("TCP", "t5.example.com"),
        ("UDP", "[2001:db8::9]"),
    ]
    assert options_request.vias[-1].port == 5070
    assert options_request.branch == "z9hG4bKkdjuw"


def test_rfc4475_unknown_schemes_in_header_fields_parse() -> None:
    register = parse_request(torture.UNKSM2)
    assert (register.to.uri.scheme, register.to.uri.user) == ("isbn", "2983792873")
    assert str(register.from_.uri) == "http://www.example.com"
    assert register.from_.tag == "3234233"
    assert parse_message(register.serialize()) == register
