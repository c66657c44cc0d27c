"""SDP (RFC 4566) as a value object, and the RFC 3264 answer a SIPREC recording server (RFC 7866)
gives its SRC, which offers one ``m=audio`` per recorded direction, ``a=sendonly``, told apart by
``a=label`` (which the rs-metadata maps to a participant). Parsing takes LF as well as CRLF and
skips blank lines (SIP stacks pad bodies); anything else off the grammar raises ``SdpError``, and
the conveniences on a parsed description never do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
# What a direction lets its sender do: bit 1 send, bit 2 receive.
_CAN: Final[dict[Direction, int]] = {"inactive": 0, "sendonly": 1, "recvonly": 2, "sendrecv": 3}
_HOLD_ADDRESSES: Final = frozenset({"0.0.0.0", "::"})  # RFC 3264 §8.4's legacy hold; and IPv6
_SESSION_ORDER: Final = "vosiuepcbtrzka"  # RFC 4566 §5; every r= belongs to the t= before it
_MEDIA_ORDER: Final = "icbka"
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+")
_SESSION_SHAPE: Final = re.compile(r"v[^vtr]*t[^v]*")  # v= first and once, a t= before r=
_DIGITS: Final = re.compile(r"[0-9]{1,20}")
_RTPMAP: Final = re.compile(r"([0-9]{1,3}) +([^/ ]+)/([0-9]{1,9})(?:/([0-9]{1,2}))? *")
_BAD_CHARS: Final = re.compile(r"[\r\n\0]")


class SdpError(ValueError):
    """Text that is not a usable session description, or a description that cannot be written."""


class Origin(NamedTuple):
    username: str
    session_id: int
    session_version: int
    nettype: str
    addrtype: str
    address: str


class Connection(NamedTuple):
    nettype: str
    addrtype: str
    address: str  # multicast keeps its "/ttl[/count]" suffix; ``host`` drops it

    @property
    def host(self) -> str:
        return self.address.split("/", 1)[0]


class Attribute(NamedTuple):
    name: str
    value: str | None = None  # None: a property attribute such as a=sendonly


class RtpMap(NamedTuple):
    encoding: str
    clock_rate: int
    channels: int = 1


# RFC 3551 §6 static payload types, listed without a=rtpmap. G.722 samples at 16 kHz but its RTP
# clock is 8000, an RFC 1890 mistake kept for compatibility: 160 per 20 ms, the same as G.711.
STATIC_PAYLOAD_TYPES: Final = {
    "0": RtpMap("PCMU", 8000), "3": RtpMap("GSM", 8000), "4": RtpMap("G723", 8000),
    "8": RtpMap("PCMA", 8000), "9": RtpMap("G722", 8000), "13": RtpMap("CN", 8000),
    "18": RtpMap("G729", 8000),
}  # fmt: skip


def _int(text: str, what: str, maximum: int = (1 << 64) - 1) -> int:
    # The regex bounds the digits first: int() of a 5,000-digit string raises a plain ValueError.
    if not _DIGITS.fullmatch(text) or (number := int(text)) > maximum:
        raise SdpError(f"{what} {text[:30]!r} is not a number up to {maximum}")
    return number


def _fields(text: str, count: int, what: str, at_least: bool = False) -> list[str]:
    if len(parts := text.split()) != count and not (at_least and len(parts) > count):
        raise SdpError(f"{what} needs {count} fields: {text[:60]!r}")
    return parts


def _tokens(*fields: str | int) -> str:
    # Space-separated fields: one with a space (or none at all) would shift the others.
    if not all([str(f)] == str(f).split() and (isinstance(f, str) or f >= 0) for f in fields):
        raise SdpError(f"fields {fields!r}: one is empty, negative or contains whitespace")
    return " ".join(map(str, fields))


def _only(fields: Sequence[tuple[str, str]], kind: str) -> str | None:
    if len(values := [value for k, value in fields if k == kind]) > 1:
        raise SdpError(f"{len(values)} {kind}= lines in one section, at most one allowed")
    return values[0] if values else None


def _connection(text: str | None) -> Connection | None:
    return None if text is None else Connection(*_fields(text, 3, "c="))


def _attributes(fields: Sequence[tuple[str, str]]) -> tuple[Attribute, ...]:
    parts = [value.partition(":") for kind, value in fields if kind == "a"]
    if not all(_TOKEN.fullmatch(name) for name, _, _ in parts):
        raise SdpError(f"an attribute name in {parts!r:.80} is not a token")
    attributes = tuple(Attribute(name, value if colon else None) for name, colon, value in parts)
    _direction(attributes)
    return attributes


def _direction(attributes: Sequence[Attribute]) -> Direction | None:
    if len(found := [d for a in attributes for d in _CAN if a.name == d]) > 1:
        raise SdpError(f"conflicting direction attributes {found}")
    return found[0] if found else None


def _values(attributes: Sequence[Attribute], name: str) -> list[str]:
    return [a.value or "" for a in attributes if a.name == name]


def _lines(
    order: str, fields: Sequence[tuple[str, str]], attributes: Sequence[Attribute]
) -> list[str]:
    if not all(_TOKEN.fullmatch(name) for name, _ in attributes):
        raise SdpError(f"an attribute name in {attributes!r:.80} is not a token")
    fields = [*fields, *(("a", n if v is None else f"{n}:{v}") for n, v in attributes)]
    for kind, value in fields:
        if len(kind) != 1 or kind not in order or _BAD_CHARS.search(value):
            raise SdpError(f"{kind}={value[:40]!r} does not belong here or contains CR, LF, NUL")
    return [f"{kind}={value}" for kind, value in sorted(fields, key=lambda f: order.index(f[0]))]


@dataclass(frozen=True, kw_only=True)
class MediaDescription:
    media: str
    port: int
    port_count: int | None = None
    proto: str
    formats: tuple[str, ...]  # payload type numbers, as strings, for RTP protos
    connection: Connection | None = None  # overrides the session's
    attributes: tuple[Attribute, ...] = ()
    other: tuple[tuple[str, str], ...] = ()  # i=, b=, k= lines, kept in order, read by nothing

    @property
    def rtpmap(self) -> dict[str, RtpMap]:
        """Payload type → codec, from ``a=rtpmap`` and, for listed static types, RFC 3551."""
        maps = {pt: STATIC_PAYLOAD_TYPES[pt] for pt in self.formats if pt in STATIC_PAYLOAD_TYPES}
        for value in _values(self.attributes, "rtpmap"):
            if not (match := _RTPMAP.fullmatch(value)):
                raise SdpError(f"a=rtpmap:{value[:40]!r} is not <pt> <encoding>/<clock>[/<ch>]")
            pt, encoding, clock, channels = match.groups()
            maps[str(int(pt))] = RtpMap(encoding, int(clock), int(channels or 1))
        return maps

    @property
    def fmtp(self) -> dict[str, str]:
        params = (value.partition(" ") for value in _values(self.attributes, "fmtp"))
        return {str(_int(pt, "fmtp payload type", 127)): rest.strip() for pt, _, rest in params}

    @property
    def label(self) -> str | None:
        return next(iter(_values(self.attributes, "label")), None)

    @property
    def direction(self) -> Direction:
        """This m-line's own direction; ``SessionDescription.direction_of`` adds inheritance."""
        return _direction(self.attributes) or "sendrecv"

    @property
    def rtcp(self) -> int | None:
        """The RFC 3605 RTCP port; an address after it is dropped, as we send no RTCP there."""
        values = _values(self.attributes, "rtcp")
        return _int((values[0].split() or [""])[0], "a=rtcp port", 65535) if values else None

    @property
    def ptime(self) -> int | None:
        values = _values(self.attributes, "ptime")
        return _int(values[0].strip(), "a=ptime", 10_000) if values else None

    def is_hold(
        self, session: SessionDescription | None = None, *, usual: Direction = "sendrecv"
    ) -> bool:
        """Whether the offerer (in ``session``, for inheritance) holds this stream: it dropped a
        direction it ``usual``ly uses (RFC 3264 §8.4), or sent address 0.0.0.0. A SIPREC SRC
        usually sends only, so its hold, ``usual="sendonly"``, is ``a=inactive``."""
        connection = session.connection_of(self) if session else self.connection
        direction = session.direction_of(self) if session else self.direction
        held = connection is not None and connection.host in _HOLD_ADDRESSES
        return held or bool(_CAN[usual] & ~_CAN[direction])

    @classmethod
    def _parse(cls, fields: Sequence[tuple[str, str]]) -> MediaDescription:
        media, port, proto, *formats = _fields(fields[0][1], 4, "m=", at_least=True)
        port, slash, count = port.partition("/")
        # RFC 4566 allows several c= only for layered multicast, which telephony never uses.
        description = cls(
            media=media, port=_int(port, "port", 65535), proto=proto, formats=tuple(formats),
            port_count=_int(count, "port count", 65535) if slash else None,
            connection=_connection(_only(fields, "c")), attributes=_attributes(fields),
            other=tuple(field for field in fields if field[0] in "ibk"),
        )  # fmt: skip
        _ = [_int(pt, "RTP payload type", 127) for pt in formats if "RTP/" in proto]
        # Parse the conveniences now, so that reading one later cannot raise.
        _ = description.rtpmap, description.fmtp, description.rtcp, description.ptime
        return description

    def _serialize(self) -> list[str]:
        count = "" if self.port_count is None else f"/{_int(str(self.port_count), 'count', 65535)}"
        port = f"{_int(str(self.port), 'port', 65535)}{count}"
        line = _tokens(self.media, port, self.proto, *(self.formats or ("",)))
        connection = [("c", _tokens(*self.connection))] if self.connection else []
        return [f"m={line}", *_lines(_MEDIA_ORDER, [*self.other, *connection], self.attributes)]


@dataclass(frozen=True, kw_only=True)
class SessionDescription:
    version: int = 0
    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: tuple[tuple[int, int], ...] = ((0, 0),)  # t= (start, stop); 0 0 is unbounded
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()
    # i= u= e= p= b= r= z= k= lines, kept in order, read by nothing (r= is written after all t=).
    other: tuple[tuple[str, str], ...] = ()

    def direction_of(self, media: MediaDescription) -> Direction:
        """The m-line's direction attribute, else the session's, else sendrecv (RFC 3264 §5.1)."""
        return _direction(media.attributes) or _direction(self.attributes) or "sendrecv"

    def connection_of(self, media: MediaDescription) -> Connection | None:
        return media.connection or self.connection

    @classmethod
    def parse(cls, text: str | bytes) -> SessionDescription:
        # Text is UTF-8 (RFC 4566 §5); a stray Latin-1 session name should not fail the call.
        body = text.decode(errors="replace") if isinstance(text, bytes) else text
        sections: list[list[tuple[str, str]]] = [[]]
        for number, raw in enumerate(body.split("\n"), 1):
            if not (line := raw.removesuffix("\r")):
                continue
            kind, value = line[0], line[2:]
            if line[1:2] != "=" or _BAD_CHARS.search(value):
                raise SdpError(f"line {number}: {line[:40]!r} is not <type>=<value>")
            if kind == "m":
                sections.append([])
            elif kind not in (_MEDIA_ORDER if len(sections) > 1 else _SESSION_ORDER):
                raise SdpError(f"line {number}: unknown or misplaced field {kind}=")
            sections[-1].append((kind, value))
        session, *media = sections
        if not _SESSION_SHAPE.fullmatch("".join(k for k, _ in session)) or session[0][1] != "0":
            raise SdpError("a session description starts with v=0, once, and has a t= before r=")
        user, sess_id, version, *address = _fields(_only(session, "o") or "", 6, "o=")
        times = [_fields(value, 2, "t=") for kind, value in session if kind == "t"]
        description = cls(
            origin=Origin(user, _int(sess_id, "sess-id"), _int(version, "sess-version"), *address),
            session_name=_only(session, "s") or "",
            connection=_connection(_only(session, "c")),
            timing=tuple((_int(t[0], "t="), _int(t[1], "t=")) for t in times),
            attributes=_attributes(session),
            media=tuple(MediaDescription._parse(fields) for fields in media),
            other=tuple(field for field in session if field[0] in "iuepbrzk"),
        )  # fmt: skip
        for m in description.media:
            if m.port and description.connection_of(m) is None:
                raise SdpError(f"m={m.media} {m.port}: no c= in the media or session section")
        return description

    def serialize(self) -> str:
        """The description with CRLF line ends, fields in RFC 4566 §5 order."""
        fields = [("v", _tokens(self.version)), ("o", _tokens(*self.origin))]
        fields += [("s", self.session_name), *self.other]
        fields += [("c", _tokens(*self.connection))] if self.connection else []
        fields += [("t", _tokens(*t)) for t in self.timing]
        lines = _lines(_SESSION_ORDER, fields, self.attributes)
        for m in self.media:
            lines += m._serialize()
        return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True)
class NegotiatedStream:
    """One accepted m-line of a recording session, as the media plane needs it."""

    label: str | None
    index: int  # position of the m-line in the offer (and the answer)
    local_port: int
    remote_addr: str
    remote_port: int
    payload_type: int
    encoding: str
    clock_rate: int
    dtmf_payload_type: int | None
    direction: Direction


def answer_recording_offer(
    offer: SessionDescription, *, local_ip: str, ports: Sequence[int],
    supported: Sequence[str] = ("PCMU", "PCMA", "G722", "telephone-event"),
    session_id: int, username: str = "callrec", session_version: int | None = None,
) -> tuple[SessionDescription, list[NegotiatedStream]]:  # fmt: skip
    """Answer an SRC's (re-)offer as a receive-only recorder, one m-line per offered m-line.

    ``ports[i]`` is our RTP port for the offer's i-th m-line (0 declines it), so a re-offer keeps
    each stream on its port. An m-line is declined (port 0, its first format) unless it is
    ``RTP/AVP`` audio with a ``supported`` codec; the first such codec in the offer's order wins,
    with the offerer's payload type and fmtp. A hold (``a=inactive``, ``a=recvonly``, 0.0.0.0)
    is answered ``inactive``. A re-answer must pass a higher ``session_version`` (RFC 3264 §8).
    """
    if len(ports) < len(offer.media):
        raise SdpError(f"the offer has {len(offer.media)} m-lines, only {len(ports)} ports given")
    wanted = {name.lower() for name in supported}
    addrtype = "IP6" if ":" in local_ip else "IP4"
    answers: list[MediaDescription] = []
    streams: list[NegotiatedStream] = []
    for index, (m, port) in enumerate(zip(offer.media, ports, strict=False)):
        label = [Attribute("label", m.label)] if m.label is not None else []
        connection = offer.connection_of(m)
        maps, fmtp = m.rtpmap, m.fmtp
        named = [(pt, maps[pt]) for pt in m.formats if pt in maps and maps[pt].channels == 1]
        codecs = [(pt, c) for pt, c in named if c.encoding.lower() in wanted]
        audio = [(pt, c) for pt, c in codecs if c.encoding.lower() != "telephone-event"]
        usable = m.media == "audio" and m.proto == "RTP/AVP" and m.port and port and audio
        if not usable or connection is None:
            answers.append(MediaDescription(
                media=m.media, port=0, proto=m.proto, formats=m.formats[:1], attributes=(*label,)
            ))  # fmt: skip
            continue
        # RFC 4733 §2.1: events are timed in the audio codec's clock, so the first wanted codec
        # goes with a telephone-event at its rate, if offered.
        events = [pt for pt, c in codecs if c.encoding.lower() == "telephone-event"
                  and c.clock_rate == audio[0][1].clock_rate]  # fmt: skip
        formats = [audio[0][0], *events[:1]]
        attributes = [Attribute("rtpmap", f"{pt} {maps[pt].encoding}/{maps[pt].clock_rate}")
                      for pt in formats]  # fmt: skip
        attributes += [Attribute("fmtp", f"{pt} {fmtp[pt]}") for pt in formats if pt in fmtp]
        # RFC 3264 §6.1: we take whatever the offerer sends; a stream it holds is inactive.
        direction: Direction = "inactive" if m.is_hold(offer, usual="sendonly") else "recvonly"
        answers.append(MediaDescription(
            media="audio", port=port, proto=m.proto, formats=tuple(formats),
            attributes=(*attributes, *label, Attribute(direction)),
        ))  # fmt: skip
        streams.append(NegotiatedStream(
            m.label, index, port, connection.host, m.port, int(formats[0]), *maps[formats[0]][:2],
            int(formats[1]) if len(formats) > 1 else None, direction,
        ))  # fmt: skip
    version = session_id if session_version is None else session_version
    origin = Origin(username, session_id, version, "IN", addrtype, local_ip)
    ours = Connection("IN", addrtype, local_ip)
    return SessionDescription(origin=origin, connection=ours, media=tuple(answers)), streams
