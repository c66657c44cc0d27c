"""SDP as a SIPREC recording server sees it: real SRC offers in, RFC 3264 answers out, holds,
declined streams, inheritance, and a parser that fails only with ``SdpError``."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.telephony.sdp import (
    Attribute,
    Connection,
    MediaDescription,
    NegotiatedStream,
    Origin,
    RtpMap,
    SdpError,
    SessionDescription,
    answer_recording_offer,
)

# An SBC opening a recording session (RFC 7866 §8.1.1): one m=audio per direction of the call,
# a=label ties each to a stream in the rs-metadata, both sendonly. Written as it crosses the wire.
SIPREC_OFFER = (
    "v=0\r\n"
    "o=SBC 1700000001 1700000001 IN IP4 192.0.2.10\r\n"
    "s=SIPREC\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 20000 RTP/AVP 0 8 101\r\n"
    "b=AS:80\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=label:1\r\n"
    "a=sendonly\r\n"
    "m=audio 20002 RTP/AVP 0 8 101\r\n"
    "b=AS:80\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=label:2\r\n"
    "a=sendonly\r\n"
)

EXPECTED_ANSWER = (
    "v=0\r\n"
    "o=callrec 4242 4242 IN IP4 198.51.100.7\r\n"
    "s=-\r\n"
    "c=IN IP4 198.51.100.7\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=label:1\r\n"
    "a=recvonly\r\n"
    "m=audio 40002 RTP/AVP 0 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=label:2\r\n"
    "a=recvonly\r\n"
)


def offer(*media: str, session: str = "c=IN IP4 192.0.2.10\r\n") -> SessionDescription:
    head = f"v=0\r\no=- 1 2 IN IP4 192.0.2.10\r\ns=-\r\n{session}t=0 0\r\n"
    return SessionDescription.parse(head + "".join(media))


def answer(
    sdp: SessionDescription,
    ports: list[int] | None = None,
    supported: tuple[str, ...] = ("PCMU", "PCMA", "G722", "telephone-event"),
    session_version: int | None = None,
) -> tuple[SessionDescription, list[NegotiatedStream]]:
    ports = [40000 + 2 * i for i in range(len(sdp.media))] if ports is None else ports
    return answer_recording_offer(
        sdp,
        local_ip="198.51.100.7",
        ports=ports,
        supported=supported,
        session_id=4242,
        session_version=session_version,
    )


# --- parsing and serializing -------------------------------------------------------------------


def test_a_siprec_offer_parses_field_by_field_and_serializes_byte_for_byte() -> None:
    sdp = SessionDescription.parse(SIPREC_OFFER.encode())
    assert sdp.origin == Origin("SBC", 1700000001, 1700000001, "IN", "IP4", "192.0.2.10")
    assert (sdp.version, sdp.session_name, sdp.timing) == (0, "SIPREC", ((0, 0),))
    assert sdp.connection == Connection("IN", "IP4", "192.0.2.10")
    first, second = sdp.media
    assert (first.media, first.port, first.proto, first.formats) == (
        "audio",
        20000,
        "RTP/AVP",
        ("0", "8", "101"),
    )
    assert first.rtpmap == {
        "0": RtpMap("PCMU", 8000),
        "8": RtpMap("PCMA", 8000),
        "101": RtpMap("telephone-event", 8000),
    }
    assert first.fmtp == {"101": "0-15"}
    assert (first.label, second.label) == ("1", "2")
    assert (first.direction, first.ptime, first.rtcp, first.connection) == (
        "sendonly",
        20,
        None,
        None,
    )
    assert first.other == (("b", "AS:80"),)
    assert first.attributes[-1] == Attribute("sendonly")
    assert sdp.serialize() == SIPREC_OFFER


def test_lf_line_ends_and_blank_padding_are_accepted() -> None:
    lf = SIPREC_OFFER.replace("\r\n", "\n") + "\n\n"
    assert SessionDescription.parse(lf) == SessionDescription.parse(SIPREC_OFFER)


def test_static_payload_types_need_no_rtpmap_and_g722_clocks_at_8000() -> None:
    sdp = offer("m=audio 5004 RTP/AVP 9 0 8 18 3 96\r\na=rtpmap:96 opus/48000/2\r\n")
    assert sdp.media[0].rtpmap == {
        "9": RtpMap("G722", 8000),
        "0": RtpMap("PCMU", 8000),
        "8": RtpMap("PCMA", 8000),
        "18": RtpMap("G729", 8000),
        "3": RtpMap("GSM", 8000),
        "96": RtpMap("opus", 48000, 2),
    }


def test_the_other_fields_survive_a_round_trip_in_rfc_order() -> None:
    text = (
        "v=0\r\no=alice 2890844526 2890842807 IN IP4 10.47.16.5\r\ns=SDP Seminar\r\n"
        "i=A Seminar on the session description protocol\r\nu=http://www.example.com/seminars/sdp.pdf\r\n"
        "e=j.doe@example.com (Jane Doe)\r\np=+1 617 555-6011\r\nc=IN IP4 224.2.17.12/127\r\n"
        "b=CT:128\r\nt=2873397496 2873404696\r\nr=7d 1h 0 25h\r\nz=2882844526 -1h\r\nk=prompt\r\n"
        "a=recvonly\r\nm=audio 49170/2 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 224.2.17.12/127\r\n"
        "b=AS:64\r\nk=prompt\r\na=rtcp:53020 IN IP4 126.16.64.4\r\nm=application 32416 udp wb\r\n"
        "a=orient:portrait\r\n"
    )
    sdp = SessionDescription.parse(text)
    assert sdp.serialize() == text
    assert sdp.connection is not None and sdp.connection.host == "224.2.17.12"
    assert (sdp.media[0].port_count, sdp.media[0].rtcp, sdp.media[1].formats) == (2, 53020, ("wb",))
    assert sdp.direction_of(sdp.media[1]) == "recvonly"


def test_session_level_connection_and_direction_are_inherited() -> None:
    sdp = offer(
        "m=audio 20000 RTP/AVP 0\r\n",
        "m=audio 20002 RTP/AVP 0\r\nc=IN IP4 192.0.2.99\r\na=sendrecv\r\n",
        session="c=IN IP4 192.0.2.10\r\na=sendonly\r\n",
    )
    inherits, overrides = sdp.media
    assert (sdp.direction_of(inherits), sdp.direction_of(overrides)) == ("sendonly", "sendrecv")
    assert inherits.direction == "sendrecv"  # its own attribute only: none, so the default
    assert sdp.connection_of(inherits) == Connection("IN", "IP4", "192.0.2.10")
    assert sdp.connection_of(overrides) == Connection("IN", "IP4", "192.0.2.99")
    _, streams = answer(sdp)
    assert [(s.remote_addr, s.direction) for s in streams] == [
        ("192.0.2.10", "recvonly"),
        ("192.0.2.99", "recvonly"),
    ]


HEAD = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n"
CT = HEAD + "c=IN IP4 h\r\nt=0 0\r\n"  # a valid session section, to put a bad m= after
BAD_SDP = {
    "empty": "",
    "no v= first": "o=- 1 1 IN IP4 h\r\nv=0\r\ns=-\r\nt=0 0\r\n",
    "version 1": HEAD.replace("v=0", "v=1") + "t=0 0\r\n",
    "two v=": HEAD + "v=0\r\nt=0 0\r\n",
    "two origins": HEAD + "o=- 1 1 IN IP4 h\r\nt=0 0\r\n",
    "short origin": "v=0\r\no=- 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n",
    "sess-id not a number": "v=0\r\no=- x 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n",
    "no t=": HEAD,
    "r= before t=": HEAD + "r=7d 1h 0\r\nt=0 0\r\n",
    "t= with one time": HEAD + "t=0\r\n",
    "unknown type": CT + "x=1\r\n",
    "no equals": CT + "hello\r\n",
    "space before equals": CT + "a =sendonly\r\n",
    "bare CR inside": HEAD + "t=0 0\r\ni=a\rb\r\n",
    "NUL": CT + "i=\0\r\n",
    "t= in media": CT + "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n",
    "m= without format": CT + "m=audio 1 RTP/AVP\r\n",
    "port too big": CT + "m=audio 70000 RTP/AVP 0\r\n",
    "5000-digit port": CT + "m=audio " + "9" * 5000 + " RTP/AVP 0\r\n",
    "port count zero digits": CT + "m=audio 1/ RTP/AVP 0\r\n",
    "RTP format not a payload type": CT + "m=audio 1 RTP/AVP PCMU\r\n",
    "payload type 128": CT + "m=audio 1 RTP/AVP 128\r\n",
    "malformed rtpmap": CT + "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
    "malformed fmtp": CT + "m=audio 1 RTP/AVP 101\r\na=fmtp:x 0-15\r\n",
    "malformed ptime": CT + "m=audio 1 RTP/AVP 0\r\na=ptime:twenty\r\n",
    "malformed rtcp": CT + "m=audio 1 RTP/AVP 0\r\na=rtcp:\r\n",
    "two directions": CT + "m=audio 1 RTP/AVP 0\r\na=sendonly\r\na=recvonly\r\n",
    "two session directions": CT + "a=sendonly\r\na=inactive\r\n",
    "two media connections": CT + "m=audio 1 RTP/AVP 0\r\nc=IN IP4 a\r\nc=IN IP4 b\r\n",
    "no connection anywhere": HEAD + "t=0 0\r\nm=audio 1 RTP/AVP 0\r\n",
    "connection with two fields": HEAD + "c=IN IP4\r\nt=0 0\r\n",
    "attribute name not a token": CT + "a=two words:x\r\n",
}


@pytest.mark.parametrize("text", BAD_SDP.values(), ids=BAD_SDP.keys())
def test_malformed_descriptions_raise_sdp_error(text: str) -> None:
    with pytest.raises(SdpError):
        SessionDescription.parse(text)


def test_bytes_that_are_not_utf8_only_mangle_the_text_they_are_in() -> None:
    sdp = SessionDescription.parse(SIPREC_OFFER.replace("s=SIPREC", "s=Caf\xe9").encode("latin-1"))
    assert sdp.session_name == "Caf\ufffd" and len(sdp.media) == 2


@pytest.mark.parametrize(
    "broken",
    [
        {"attributes": (Attribute("two words"),)},
        {"attributes": (Attribute("label", "1\r\nm=video 1 RTP/AVP 0"),)},
        {"session_name": "a\nb"},
        {"origin": Origin("user name", 1, 1, "IN", "IP4", "h")},
        {"origin": Origin("-", -1, 1, "IN", "IP4", "h")},
        {"media": (MediaDescription(media="audio", port=-1, proto="RTP/AVP", formats=("0",)),)},
        {"media": (MediaDescription(media="audio", port=1, proto="RTP/AVP", formats=()),)},
        {"other": (("x", "unknown type"),)},
    ],
)
def test_serialize_refuses_what_would_not_parse_back(broken: dict[str, object]) -> None:
    base = SessionDescription(origin=Origin("-", 1, 1, "IN", "IP4", "h"))
    with pytest.raises(SdpError):
        SessionDescription(**{"origin": base.origin, **broken}).serialize()  # type: ignore[arg-type]


# --- the recording server's answer ---------------------------------------------------------------


def test_the_siprec_offer_is_answered_recvonly_with_the_labels_codec_and_our_ports() -> None:
    sdp, streams = answer(SessionDescription.parse(SIPREC_OFFER))
    assert sdp.serialize() == EXPECTED_ANSWER
    assert streams == [
        NegotiatedStream("1", 0, 40000, "192.0.2.10", 20000, 0, "PCMU", 8000, 101, "recvonly"),
        NegotiatedStream("2", 1, 40002, "192.0.2.10", 20002, 0, "PCMU", 8000, 101, "recvonly"),
    ]
    assert SessionDescription.parse(EXPECTED_ANSWER) == sdp


def test_the_first_supported_codec_in_the_offers_order_wins_with_its_payload_type() -> None:
    sdp = offer("m=audio 20000 RTP/AVP 18 8 0\r\na=rtpmap:18 G729/8000\r\na=label:7\r\n")
    answered, streams = answer(sdp)
    assert answered.media[0].formats == ("8",)
    assert answered.media[0].attributes == (
        Attribute("rtpmap", "8 PCMA/8000"),
        Attribute("label", "7"),
        Attribute("recvonly"),
    )
    assert (streams[0].payload_type, streams[0].encoding, streams[0].dtmf_payload_type) == (
        8,
        "PCMA",
        None,
    )


def test_g722_is_chosen_by_its_static_type_with_telephone_event_at_8000() -> None:
    sdp = offer(
        "m=audio 20000 RTP/AVP 9 96 97\r\na=rtpmap:96 telephone-event/16000\r\n"
        "a=rtpmap:97 telephone-event/8000\r\na=fmtp:97 0-16\r\n"
    )
    answered, [stream] = answer(sdp)
    assert answered.media[0].formats == ("9", "97")
    assert (stream.encoding, stream.clock_rate, stream.dtmf_payload_type) == ("G722", 8000, 97)
    assert Attribute("fmtp", "97 0-16") in answered.media[0].attributes


def test_a_stream_with_only_unsupported_codecs_is_declined_with_port_zero() -> None:
    sdp = offer(
        "m=audio 20000 RTP/AVP 18 101\r\na=rtpmap:18 G729/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=label:1\r\na=sendonly\r\n",
        "m=audio 20002 RTP/AVP 0\r\na=label:2\r\na=sendonly\r\n",
    )
    answered, streams = answer(sdp)
    assert answered.media[0] == MediaDescription(
        media="audio",
        port=0,
        proto="RTP/AVP",
        formats=("18",),
        attributes=(Attribute("label", "1"),),
    )
    assert "m=audio 0 RTP/AVP 18\r\na=label:1\r\nm=audio 40002 " in answered.serialize()
    assert [(s.index, s.label) for s in streams] == [(1, "2")]


def test_video_srtp_and_refused_ports_are_declined_in_place() -> None:
    sdp = offer(
        "m=audio 20000 RTP/AVP 0\r\n",
        "m=video 20002 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\na=rtpmap:97 VP8/90000\r\n",
        "m=audio 20004 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n",
        "m=audio 20006 RTP/AVP 0\r\n",
    )
    answered, streams = answer(sdp, ports=[40000, 40002, 40004, 0])
    assert [(m.media, m.port, m.proto, m.formats) for m in answered.media] == [
        ("audio", 40000, "RTP/AVP", ("0",)),
        ("video", 0, "RTP/AVP", ("96",)),
        ("audio", 0, "RTP/SAVP", ("0",)),
        ("audio", 0, "RTP/AVP", ("0",)),
    ]
    assert [s.index for s in streams] == [0]


def test_an_offered_port_zero_stays_rejected() -> None:
    answered, streams = answer(offer("m=audio 0 RTP/AVP 0\r\n"))
    assert (answered.media[0].port, streams) == (0, [])


def test_a_hold_reoffer_with_inactive_is_answered_inactive() -> None:
    reoffer = offer(
        "m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=label:1\r\n"
        "a=inactive\r\n",
        "m=audio 20002 RTP/AVP 0\r\na=label:2\r\na=sendonly\r\n",
    )
    held, live = reoffer.media
    assert held.is_hold(reoffer, usual="sendonly") and not live.is_hold(reoffer, usual="sendonly")
    answered, streams = answer(reoffer, session_version=4243)
    assert answered.origin.session_version == 4243
    assert [s.direction for s in streams] == ["inactive", "recvonly"]
    assert answered.media[0].attributes[-2:] == (Attribute("label", "1"), Attribute("inactive"))


def test_a_hold_by_the_rfc2543_address_is_answered_inactive() -> None:
    reoffer = offer(
        "m=audio 20000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n",
        "m=audio 20002 RTP/AVP 0\r\nc=IN IP4 192.0.2.10\r\na=label:2\r\na=sendonly\r\n",
        session="c=IN IP4 0.0.0.0\r\n",
    )
    assert reoffer.media[0].is_hold(reoffer) and not reoffer.media[1].is_hold(
        reoffer, usual="sendonly"
    )
    _, streams = answer(reoffer)
    assert [(s.remote_addr, s.direction) for s in streams] == [
        ("0.0.0.0", "inactive"),
        ("192.0.2.10", "recvonly"),
    ]


def test_rfc3264_hold_of_a_two_way_call_is_sendonly_or_inactive() -> None:
    call = offer(
        "m=audio 1 RTP/AVP 0\r\na=sendrecv\r\n",
        "m=audio 2 RTP/AVP 0\r\na=sendonly\r\n",
        "m=audio 3 RTP/AVP 0\r\na=inactive\r\n",
        "m=audio 4 RTP/AVP 0\r\n",
    )
    assert [m.is_hold(call) for m in call.media] == [False, True, True, False]


def test_ipv6_answers_say_ip6_and_too_few_ports_is_an_error() -> None:
    sdp = offer("m=audio 20000 RTP/AVP 0\r\n", session="c=IN IP6 2001:db8::10\r\n")
    answered, [stream] = answer_recording_offer(
        sdp, local_ip="2001:db8::7", ports=[5000], session_id=1, username="srs"
    )
    assert answered.origin == Origin("srs", 1, 1, "IN", "IP6", "2001:db8::7")
    assert stream.remote_addr == "2001:db8::10"
    with pytest.raises(SdpError, match="2 m-lines"):
        answer_recording_offer(
            offer("m=audio 1 RTP/AVP 0\r\n", "m=audio 2 RTP/AVP 0\r\n"),
            local_ip="h",
            ports=[5000],
            session_id=1,
        )


def test_supported_codecs_can_be_narrowed() -> None:
    _, [stream] = answer(
        offer("m=audio 1 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"),
        supported=("pcma",),
    )
    assert (stream.payload_type, stream.dtmf_payload_type) == (8, None)


# --- properties ----------------------------------------------------------------------------------

# Values may hold anything but the line breaks and NUL; space-separated fields, no whitespace;
# attribute names are tokens, minus the ones whose values are parsed (generated separately).
_TEXT = st.text(st.characters(exclude_characters="\r\n\0", exclude_categories=["Cs"]), max_size=12)
_WORD = st.text(st.characters(exclude_categories=["Z", "Cc", "Cs"]), min_size=1, max_size=8)
_PARSED = {"rtpmap", "fmtp", "rtcp", "ptime", "sendrecv", "sendonly", "recvonly", "inactive"}
_NAME = st.text("abcdefghijklmnopqrstuvwxyz-._*", min_size=1, max_size=8).filter(
    lambda name: name not in _PARSED
)
_CONNECTION = st.builds(Connection, _WORD, _WORD, _WORD)
_RANK = "vosiuepcbtrzka"


@st.composite
def _media(draw: st.DrawFn) -> MediaDescription:
    formats = draw(st.lists(st.integers(0, 127).map(str), min_size=1, max_size=5))
    rtpmaps = [
        Attribute("rtpmap", f"{pt} {draw(_NAME)}/{draw(st.integers(1, 96000))}")
        for pt in formats
        if draw(st.booleans())
    ]
    plain = draw(st.lists(st.builds(Attribute, _NAME, st.none() | _TEXT), max_size=4))
    direction = draw(
        st.lists(st.sampled_from(["sendonly", "recvonly", "inactive", "sendrecv"]), max_size=1)
    )
    other = draw(st.lists(st.tuples(st.sampled_from("ibk"), _TEXT), max_size=3))
    return MediaDescription(
        media=draw(_WORD),
        port=draw(st.integers(0, 65535)),
        proto="RTP/AVP",
        port_count=draw(st.none() | st.integers(1, 65535)),
        formats=tuple(formats),
        connection=draw(st.none() | _CONNECTION),
        attributes=(*rtpmaps, *plain, *(Attribute(d) for d in direction)),
        other=tuple(sorted(other, key=lambda f: "icbka".index(f[0]))),
    )


@st.composite
def _descriptions(draw: st.DrawFn) -> SessionDescription:
    other = draw(st.lists(st.tuples(st.sampled_from("iuepbrzk"), _TEXT), max_size=4))
    return SessionDescription(
        origin=Origin(
            draw(_WORD),
            draw(st.integers(0, 2**64 - 1)),
            draw(st.integers(0, 2**63)),
            draw(_WORD),
            draw(_WORD),
            draw(_WORD),
        ),
        session_name=draw(_TEXT),
        connection=draw(_CONNECTION),
        timing=tuple(
            draw(
                st.lists(
                    st.tuples(st.integers(0, 2**40), st.integers(0, 2**40)), min_size=1, max_size=2
                )
            )
        ),
        attributes=tuple(
            draw(st.lists(st.builds(Attribute, _NAME, st.none() | _TEXT), max_size=3))
        ),
        media=tuple(draw(st.lists(_media(), max_size=3))),
        other=tuple(sorted(other, key=lambda f: _RANK.index(f[0]))),
    )


@settings(max_examples=100, deadline=None)
@given(_descriptions())
def test_generated_descriptions_round_trip(sdp: SessionDescription) -> None:
    text = sdp.serialize()
    assert SessionDescription.parse(text) == sdp
    assert SessionDescription.parse(text.encode()).serialize() == text


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary(), st.text(alphabet="vosictmab=0123456789 \r\n/:IPN")))
def test_arbitrary_input_raises_only_sdp_error(data: str | bytes) -> None:
    with contextlib.suppress(SdpError):
        SessionDescription.parse(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_offers_raise_only_sdp_error_and_what_parses_answers(data: st.DataObject) -> None:
    lines = SIPREC_OFFER.split("\r\n")
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        lines[at] = data.draw(
            st.sampled_from(
                [
                    lines[at][: len(lines[at]) // 2],
                    lines[at] + data.draw(st.text(max_size=5)),
                    data.draw(st.text(max_size=20)),
                    lines[data.draw(st.integers(0, len(lines) - 1))],
                    "",
                ]
            )
        )
    try:
        sdp = SessionDescription.parse("\r\n".join(lines))
    except SdpError:
        return
    answered, _ = answer(sdp)  # whatever parses can be answered, and the answer parses back
    assert SessionDescription.parse(answered.serialize()) == answered
