"""SIP requests and responses (RFC 3261 §7): parse from a datagram or a stream, serialise, reply.

Parsing checks what the layers above rely on, so that after ``parse_message`` the accessors
(``call_id``, ``cseq``, ``from_``, ``to``, ``vias``, ``max_forwards``) cannot raise. They parse
on every call and return fresh objects: change a message through ``headers``. Content-Length is
framing, not content: it is removed from ``headers`` on parse and always written from
``len(body)`` on serialise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeAlias

from callrec.telephony.sip._syntax import is_token, parse_uint
from callrec.telephony.sip.errors import SipParseError
from callrec.telephony.sip.headers import Headers, canonical_name, split_head
from callrec.telephony.sip.uri import SIP_SCHEMES, CSeq, NameAddr, SipUri, Via

MAX_MESSAGE_BYTES = 65536
MAX_HEADERS = 200
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_VERSION = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)
_SP = re.compile(r"[ \t]+")
_SINGLE = ("Call-ID", "CSeq", "From", "To")  # RFC 3261 §8.1.1: exactly one each, plus ≥ 1 Via


class _Accessors:
    """Typed views of the headers every transaction and dialog needs."""

    __slots__ = ()
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self.required("CSeq"))

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self.required("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self.required("To"))

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def branch(self) -> str | None:
        """The top Via's branch: the transaction key of RFC 3261 §17.2.3."""
        top = self.headers.get("Via")
        return None if top is None else Via.parse(top).branch

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        return None if value is None else parse_uint(value, "Max-Forwards", 255)

    def required(self, name: str) -> str:
        """The first value of a header that must be there, else SipParseError."""
        value = self.headers.get(name)
        if not value:
            raise SipParseError(f"missing or empty {name} header")
        return value

    def _serialize(self, start_line: str) -> bytes:
        lines = [start_line]
        lines += [f"{n}: {v}" for n, v in self.headers if canonical_name(n) != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(slots=True)
class SipRequest(_Accessors):
    method: str
    uri: SipUri
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> SipRequest:
        message = parse_message(data)
        if not isinstance(message, SipRequest):
            raise SipParseError("expected a request, got a response")
        return message

    def serialize(self) -> bytes:
        if not is_token(self.method):
            raise ValueError(f"invalid method {self.method!r}")
        return self._serialize(f"{self.method} {self.uri} SIP/2.0")


@dataclass(slots=True)
class SipResponse(_Accessors):
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> SipResponse:
        message = parse_message(data)
        if not isinstance(message, SipResponse):
            raise SipParseError("expected a response, got a request")
        return message

    def serialize(self) -> bytes:
        if not 100 <= self.status <= 699 or "\r" in self.reason or "\n" in self.reason:
            raise ValueError(f"invalid status line {self.status} {self.reason!r}")
        # The SP before the reason stays even when the reason is empty (RFC 3261 §7.2).
        return self._serialize(f"SIP/2.0 {self.status} {self.reason}")


SipMessage: TypeAlias = SipRequest | SipResponse


def parse_message(data: bytes) -> SipMessage:
    """One message from one datagram (UDP) or an already framed buffer.

    Without Content-Length the body is the rest of the datagram (RFC 3261 §18.3); octets beyond
    Content-Length are ignored (RFC 4475 §3.1.1.8); fewer is an error (§3.1.2.2).
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError(f"message larger than {MAX_MESSAGE_BYTES} bytes", status=513)
    start = _keepalive_end(data)
    if start == len(data):
        raise SipParseError("empty message")
    end = _HEAD_END.search(data, start)
    if end is None:
        raise SipParseError("no blank line after the headers")
    message, declared = _parse_head(data[start : end.start()])
    body = data[end.end() :]
    if declared is not None:
        if len(body) < declared:
            raise SipParseError(f"Content-Length is {declared} but the body has {len(body)} bytes")
        body = body[:declared]
    message.body = body
    return message


def parse_stream(buffer: bytearray) -> list[SipMessage]:
    """Take every complete message off the front of a stream (TCP/TLS) buffer, in order.

    A stream message ends after Content-Length body bytes (absent means 0); CRLF keep-alives
    between messages (RFC 5626 §3.5.1) are dropped. Incomplete data stays in ``buffer`` for the
    next call. A malformed message raises once the messages before it have been returned; the
    framing is then lost and the caller should answer 400 if it can and close the connection.
    """
    messages: list[SipMessage] = []
    while True:
        try:
            message = _next_from_stream(buffer)
        except SipParseError:
            if messages:
                return messages  # the bad bytes stay in front: the next call raises
            raise
        if message is None:
            return messages
        messages.append(message)


def _next_from_stream(buffer: bytearray) -> SipMessage | None:
    del buffer[: _keepalive_end(buffer)]
    end = _HEAD_END.search(buffer)
    if end is None:
        if len(buffer) > MAX_MESSAGE_BYTES:
            raise SipParseError(f"no end of headers in {MAX_MESSAGE_BYTES} bytes", status=513)
        return None
    message, declared = _parse_head(bytes(buffer[: end.start()]))
    total = end.end() + (declared or 0)
    if total > MAX_MESSAGE_BYTES:
        raise SipParseError(f"message larger than {MAX_MESSAGE_BYTES} bytes", status=513)
    if len(buffer) < total:
        return None
    message.body = bytes(buffer[end.end() : total])
    del buffer[:total]
    return message


def _keepalive_end(data: bytes | bytearray) -> int:
    # RFC 3261 §7.5: CRLFs before a start line are ignored. A lone trailing CR may be the first
    # half of a keep-alive still in flight, so it stays.
    i = 0
    while True:
        if data[i : i + 2] == b"\r\n":
            i += 2
        elif data[i : i + 1] == b"\n":
            i += 1
        else:
            return i


def _parse_head(head: bytes) -> tuple[SipMessage, int | None]:
    """Start line and headers → message with an empty body, and the declared Content-Length."""
    lines = split_head(head)
    headers = Headers.parse(lines[1:], MAX_HEADERS)
    message = _start_line(lines[0], headers)
    declared = _content_length(headers)
    headers.remove("Content-Length")
    _validate(message)
    return message, declared


def _start_line(line: str, headers: Headers) -> SipMessage:
    if not line or line[0] in " \t":
        raise SipParseError(f"start line empty or indented: {line[:60]!r}")
    first, *rest = _SP.split(line, maxsplit=2)
    if first.upper().startswith("SIP/"):
        _check_version(first)
        if not rest or len(rest[0]) != 3 or not rest[0].isascii() or not rest[0].isdigit():
            raise SipParseError(f"status code must be three digits: {line[:60]!r}")
        status = int(rest[0])
        if not 100 <= status <= 699:
            raise SipParseError(f"status code {status} out of range 100-699")
        return SipResponse(status, rest[1].strip(" \t") if len(rest) > 1 else "", headers)
    # Extra SP between the elements is tolerated (RFC 4475 §3.1.2.9 allows being liberal);
    # embedded LWS in the URI gives a fourth element and is refused (§3.1.2.8).
    parts = [part for part in _SP.split(line) if part]
    if len(parts) != 3:
        raise SipParseError(f"request line must be 'METHOD URI SIP/2.0': {line[:60]!r}")
    method, uri_text, version = parts
    if not is_token(method):
        raise SipParseError(f"invalid method {method[:40]!r}")
    _check_version(version)
    uri = SipUri.parse(uri_text)
    if uri.scheme not in SIP_SCHEMES:
        raise SipParseError(f"unsupported URI scheme {uri.scheme[:20]!r}", status=416)
    if uri.headers:
        # RFC 3261 §19.1.5: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
        raise SipParseError("Request-URI must not carry URI headers")
    return SipRequest(method, uri, headers)


def _check_version(text: str) -> None:
    if text.upper() == "SIP/2.0":
        return
    if _VERSION.fullmatch(text):
        raise SipParseError(f"SIP version {text!r} not supported", status=505)
    raise SipParseError(f"malformed SIP version {text[:40]!r}")


def _content_length(headers: Headers) -> int | None:
    values = {parse_uint(v, "Content-Length", MAX_MESSAGE_BYTES) for v in headers.get_all("l")}
    if len(values) > 1:
        raise SipParseError(f"conflicting Content-Length values {sorted(values)}")
    return values.pop() if values else None


def _validate(message: SipMessage) -> None:
    headers = message.headers
    for name in _SINGLE:
        count = len(headers.get_all(name))
        if count != 1:
            raise SipParseError(f"{'missing' if count == 0 else 'more than one'} {name} header")
    call_id = message.call_id  # raises when empty
    if any(c.isspace() for c in call_id):
        raise SipParseError(f"Call-ID contains whitespace: {call_id[:40]!r}")
    cseq = message.cseq
    if isinstance(message, SipRequest) and cseq.method != message.method:
        # RFC 4475 §3.1.2.17/.18: the CSeq method must match the request method.
        raise SipParseError(f"CSeq method {cseq.method!r} does not match {message.method!r}")
    NameAddr.parse(message.required("From"))
    NameAddr.parse(message.required("To"))
    if not message.vias:
        raise SipParseError("missing Via header")
    max_forwards = headers.get_all("Max-Forwards")
    if len(max_forwards) > 1:
        raise SipParseError("more than one Max-Forwards header")
    if max_forwards:
        parse_uint(max_forwards[0], "Max-Forwards", 255)  # RFC 4475 §3.1.2.4: 300 is too big
