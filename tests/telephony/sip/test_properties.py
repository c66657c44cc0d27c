"""Properties of the SIP message layer, checked with hypothesis.

The default run is quick; ``HYPOTHESIS_PROFILE=long`` (see FUZZING.md) turns the same tests into
a fuzzing session of 100,000 examples each.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from callrec.telephony.sip import (
    BodyPart,
    CSeq,
    Headers,
    NameAddr,
    SipMessage,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    build_multipart,
    parse_message,
    parse_multipart,
    parse_stream,
)
from tests.telephony.sip import samples, torture

# Longer fuzzing sessions (FUZZING.md): HYPOTHESIS_PROFILE=medium|long gives every test below
# that many examples. The health checks are off because a long run is expected to be slow.
for _name, _examples in (("medium", 20_000), ("long", 100_000)):
    settings.register_profile(
        _name,
        max_examples=_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE")


def _budget(examples: int) -> settings:
    # The default run stays fast; a registered profile named in the environment replaces it.
    try:
        return settings.get_profile(_PROFILE or "")
    except InvalidArgument:
        return settings(max_examples=examples)


FUZZ, ROUND_TRIP, STREAM = _budget(400), _budget(100), _budget(40)

SEEDS = [
    samples.SIPREC_INVITE,
    samples.OK_WITH_SDP,
    samples.TRYING,
    torture.WSINV,
    torture.INTMETH,
    torture.ESC01,
    torture.TRANSPORTS,
    torture.UNKSM2,
]
# Bytes that matter to a SIP parser, so mutations hit the interesting branches often.
MUTATIONS = ["flip"] * 3 + ["insert"] * 3 + ["delete"] * 2 + ["duplicate", "truncate"]
SPECIAL = [b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b";", b",", b'"', b"\\", b"<", b">", b"=",
           b"@", b"%", b"/", b"?", b"--", b"\x00", b"\x7f", b"\xc3", b"\xff", b"0", b"9" * 12,
           b"\r\n\r\n", b"\r\n ", b"SIP/2.0", b"Content-Length: 1\r\n"]  # fmt: skip


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        # Truncation mostly yields "no blank line": keep it rare so the rest gets explored.
        kind = draw(st.sampled_from(MUTATIONS))
        pos = draw(st.integers(0, len(data)))
        if kind == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.sampled_from(SPECIAL) | st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 64))]
    return bytes(data)


def _only_sip_parse_error(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError:
        pass
    else:
        # Whatever parses also serialises, and re-parses to the same message.
        assert parse_message(message.serialize()) == message
    buffer = bytearray(data)
    try:
        for message in parse_stream(buffer):
            assert parse_message(message.serialize()) == message
    except SipParseError:
        pass


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_nothing_but_sip_parse_error(data: bytes) -> None:
    _only_sip_parse_error(data)


@FUZZ
@given(mutated_messages())
def test_mutated_messages_raise_nothing_but_sip_parse_error(data: bytes) -> None:
    _only_sip_parse_error(data)


@FUZZ
@given(mutated_messages())
def test_mutated_multipart_bodies_raise_nothing_but_sip_parse_error(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        parse_multipart(data, "multipart/mixed;boundary=OSS-unique-boundary-42")


# --- generated well-formed messages --------------------------------------------------------

TOKEN = st.text(string.ascii_letters + string.digits + "-.!%*_+`'~", min_size=1, max_size=10)
LOWER_TOKEN = st.text(string.ascii_lowercase + string.digits + "-.!%*_+`'~", min_size=1, max_size=8)
LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
HOSTS = st.one_of(
    st.lists(LABEL, min_size=1, max_size=4).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.integers(0, 0xFFFF).map(lambda n: f"[2001:db8::{n:x}]"),
)
PORTS = st.none() | st.integers(0, 65535)
ALNUM = string.ascii_letters + string.digits
URI_TEXT = st.text(ALNUM + "-_.!~*'()&=+$,", min_size=1, max_size=12)  # user part
PARAM_TEXT = st.text(ALNUM + "-_.!~*'()[]/:&+$", min_size=1, max_size=8)  # paramchar
HNAME = st.text(ALNUM + "-", min_size=1, max_size=8)
HVALUE = st.text(ALNUM + "-_.!~*'()[]/?:+$", max_size=8)  # hnv-unreserved + unreserved
PARAMS = st.dictionaries(PARAM_TEXT.map(str.lower), st.none() | PARAM_TEXT, max_size=3)
# Any text a display name or header value can carry on one line (no CR/LF, valid UTF-8).
LINE_TEXT = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=24
)
VALUE = LINE_TEXT.map(lambda s: s.strip(" \t"))


@st.composite
def sip_uris(draw: st.DrawFn, with_headers: bool = False) -> SipUri:
    if draw(st.integers(0, 9)) == 0:
        return SipUri("tel", "+" + draw(st.text(string.digits, min_size=3, max_size=15)), "")
    user = draw(st.none() | st.builds(lambda a, b: a + b, URI_TEXT, st.sampled_from(["", "%20"])))
    headers = draw(st.dictionaries(HNAME, HVALUE, max_size=2)) if with_headers else {}
    scheme = draw(st.sampled_from(["sip", "sips"]))
    return SipUri(scheme, user, draw(HOSTS), draw(PORTS), draw(PARAMS), headers)


QUOTED = LINE_TEXT.filter(lambda s: '"' not in s and "\\" not in s).map(lambda s: f'"{s}"')
HEADER_PARAM_VALUES = st.none() | TOKEN | QUOTED


@st.composite
def name_addrs(draw: st.DrawFn) -> NameAddr:
    params = draw(st.dictionaries(LOWER_TOKEN, HEADER_PARAM_VALUES, max_size=3))
    return NameAddr(draw(sip_uris(with_headers=True)), draw(st.none() | LINE_TEXT), params)


@st.composite
def vias(draw: st.DrawFn) -> Via:
    params: dict[str, str | None] = {"branch": "z9hG4bK" + draw(TOKEN)}
    if draw(st.booleans()):
        params["rport"] = draw(st.none() | st.integers(1, 65535).map(str))
    if draw(st.booleans()):
        params["received"] = draw(HOSTS)
    transport = draw(st.sampled_from(["UDP", "TCP", "TLS", "SCTP", "WS", "WSS"]))
    return Via(transport, draw(HOSTS), draw(PORTS), params)


METHODS = st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE", "INFO"]) | TOKEN
EXTENSIONS = st.lists(st.tuples(TOKEN.map(lambda t: "X-" + t), VALUE), max_size=6)


@st.composite
def requests(draw: st.DrawFn) -> SipRequest:
    method = draw(METHODS)
    headers = Headers()
    for via in draw(st.lists(vias(), min_size=1, max_size=3)):
        headers.add(draw(st.sampled_from(["Via", "v"])), str(via))
    headers.add("Max-Forwards", str(draw(st.integers(0, 255))))
    headers.add(draw(st.sampled_from(["From", "f"])), str(draw(name_addrs())))
    headers.add(draw(st.sampled_from(["To", "t"])), str(draw(name_addrs())))
    headers.add(draw(st.sampled_from(["Call-ID", "i"])), draw(TOKEN) + "@" + draw(HOSTS))
    headers.add("CSeq", str(CSeq(draw(st.integers(0, 2**31 - 1)), method)))
    for name, value in draw(EXTENSIONS):
        headers.add(name, value)
    if draw(st.booleans()):
        headers.add("Supported", ", ".join(draw(st.lists(TOKEN, min_size=1, max_size=3))))
    body = draw(st.binary(max_size=300))
    if body:
        headers.add(draw(st.sampled_from(["Content-Type", "c"])), "application/octet-stream")
    return SipRequest(method, draw(sip_uris()), headers, body)


@st.composite
def responses(draw: st.DrawFn) -> SipResponse:
    request = draw(requests())
    return SipResponse(draw(st.integers(100, 699)), draw(VALUE), request.headers, request.body)


MESSAGES = st.one_of(requests(), responses())


@ROUND_TRIP
@given(requests())
def test_generated_requests_round_trip(request: SipRequest) -> None:
    parsed = parse_message(request.serialize())
    assert parsed == request
    assert isinstance(parsed, SipRequest)
    assert (parsed.method, parsed.uri, parsed.body) == (request.method, request.uri, request.body)
    assert parsed.from_ == NameAddr.parse(request.headers.get("From") or "")
    assert parsed.to == NameAddr.parse(request.headers.get("To") or "")
    assert parsed.vias == [Via.parse(v) for v in request.headers.get_all("Via")]
    assert parsed.cseq == CSeq.parse(request.headers.get("CSeq") or "")
    assert parsed.call_id == request.headers.get("Call-ID")
    assert parsed.branch == parsed.vias[0].branch


@ROUND_TRIP
@given(name_addrs(), vias(), sip_uris(with_headers=True))
def test_generated_header_values_round_trip(addr: NameAddr, via: Via, uri: SipUri) -> None:
    assert NameAddr.parse(addr.serialize()) == addr
    assert Via.parse(via.serialize()) == via
    assert SipUri.parse(uri.serialize()) == uri


@ROUND_TRIP
@given(responses())
def test_generated_responses_round_trip(response: SipResponse) -> None:
    assert parse_message(response.serialize()) == response


@STREAM
@given(
    st.lists(MESSAGES, min_size=1, max_size=3),
    st.lists(st.sampled_from([b"", b"", b"\r\n", b"\r\n\r\n"]), min_size=5, max_size=5),
    st.lists(st.integers(0, 10_000), max_size=8),
)
def test_stream_split_anywhere_yields_the_same_messages(
    messages: list[SipMessage], keepalives: list[bytes], cuts: list[int]
) -> None:
    stream = keepalives[-1] + b"".join(
        m.serialize() + keepalives[i % 4] for i, m in enumerate(messages)
    )
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    buffer = bytearray()
    got: list[SipMessage] = []
    for start, end in itertools.pairwise(points):
        buffer += stream[start:end]
        got += parse_stream(buffer)
    assert got == messages
    assert buffer == b""


@ROUND_TRIP
@given(
    st.lists(
        st.builds(
            BodyPart,
            st.sampled_from(["application/sdp", "application/rs-metadata+xml", "text/plain"]),
            st.lists(st.tuples(st.just("Content-Disposition"), TOKEN), max_size=1).map(Headers),
            st.binary(max_size=200).filter(lambda b: b"--siprec-b" not in b),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_multipart_build_parse_round_trip(parts: list[BodyPart]) -> None:
    content_type, body = build_multipart(parts, "siprec-b")
    assert parse_multipart(body, content_type) == parts
