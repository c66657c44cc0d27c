"""``multipart/*`` bodies (RFC 2046 §5.1) as SIPREC uses them (RFC 7866 §9): an SDP part and an
``application/rs-metadata+xml`` part, each with its own headers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from callrec.telephony.sip._syntax import is_token, parse_params, quote, unquote
from callrec.telephony.sip.errors import SipParseError
from callrec.telephony.sip.headers import Headers, split_head

_HEAD_END = re.compile(rb"\r?\n\r?\n")
# After a boundary: optional transport padding, then the line end (or the end of the body).
_DELIMITER_TAIL = re.compile(rb"[ \t]*(?:\r?\n|\Z)")
# RFC 2046 §5.1.1 bchars without the space, which would need care at the end of a line.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=?]{1,70}")
_MAX_PARTS = 64


@dataclass(slots=True)
class BodyPart:
    """One part: its Content-Type, its other headers (e.g. Content-Disposition), its bytes."""

    content_type: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """``multipart/mixed; boundary="x"`` → ``("multipart/mixed", {"boundary": "x"})``.

    The media type and parameter names are lower-cased; values are unquoted.
    """
    media, semi, rest = value.partition(";")
    media = media.strip().lower()
    kind, slash, subtype = media.partition("/")
    if not (slash and is_token(kind) and is_token(subtype)):
        raise SipParseError(f"malformed Content-Type {value[:60]!r}")
    params = parse_params(semi + rest, "Content-Type")
    return media, {k: "" if v is None else unquote(v) for k, v in params.items()}


def parse_multipart(body: bytes, content_type: str) -> list[BodyPart]:
    """Split a multipart body; the preamble and epilogue are ignored, CRLF or LF accepted."""
    media, params = parse_content_type(content_type)
    if not media.startswith("multipart/"):
        raise SipParseError(f"not a multipart Content-Type: {media!r}")
    boundary = params.get("boundary", "")
    if not 1 <= len(boundary) <= 70:
        raise SipParseError("multipart Content-Type without a valid boundary")
    delimiter = b"--" + boundary.encode()
    _, pos, closed = _next_delimiter(body, delimiter, 0)
    if closed:
        raise SipParseError("multipart body has no parts")
    parts: list[BodyPart] = []
    while not closed:
        if len(parts) == _MAX_PARTS:
            raise SipParseError(f"more than {_MAX_PARTS} body parts")
        end, next_pos, closed = _next_delimiter(body, delimiter, pos)
        parts.append(_parse_part(body[pos:end]))
        pos = next_pos
    return parts


def build_multipart(parts: Sequence[BodyPart], boundary: str) -> tuple[str, bytes]:
    """Parts → ``(Content-Type value, body)``; the body uses CRLF and ends with the close."""
    if not _BOUNDARY.fullmatch(boundary):
        raise ValueError(f"invalid multipart boundary {boundary!r}")
    if not parts:
        raise ValueError("a multipart body needs at least one part")
    delimiter = b"--" + boundary.encode()
    out = bytearray()
    for part in parts:
        if delimiter in part.body:
            raise ValueError("the boundary occurs inside a part body")
        headers = part.headers.copy()
        headers.remove("Content-Type")
        out += delimiter + b"\r\n"
        out += f"Content-Type: {part.content_type}\r\n{headers.serialize()}\r\n".encode()
        # The CRLF before the next delimiter belongs to the delimiter (RFC 2046 §5.1.1).
        out += part.body + b"\r\n"
    out += delimiter + b"--\r\n"
    shown = boundary if is_token(boundary) else quote(boundary)
    return f"multipart/mixed;boundary={shown}", bytes(out)


def _next_delimiter(body: bytes, delimiter: bytes, start: int) -> tuple[int, int, bool]:
    """Find the next delimiter line at or after ``start``.

    Returns where the preceding part's content ends (before the line break that belongs to the
    delimiter), where the next part starts, and whether it was the close delimiter.
    """
    search = start
    while True:
        found = body.find(delimiter, search)
        if found < 0:
            raise SipParseError("multipart body has no closing boundary")
        after = found + len(delimiter)
        closed = body[after : after + 2] == b"--"
        tail = _DELIMITER_TAIL.match(body, after + 2 if closed else after)
        # A boundary only counts at the start of a line and alone on it; "--boundaryX" is data.
        if (found == 0 or body[found - 1 : found] == b"\n") and tail is not None:
            end = found - 1 if found > 0 else 0
            if end > 0 and body[end - 1 : end] == b"\r":
                end -= 1
            return max(end, start), tail.end(), closed
        search = found + 1


def _parse_part(raw: bytes) -> BodyPart:
    if raw.startswith(b"\r\n") or raw.startswith(b"\n"):  # no headers at all
        head, content = b"", raw[raw.index(b"\n") + 1 :]
    else:
        end = _HEAD_END.search(raw)
        if end is None:
            raise SipParseError("body part without a blank line after its headers")
        head, content = raw[: end.start()], raw[end.end() :]
    headers = Headers.parse(split_head(head)) if head else Headers()
    # RFC 2046 §5.1: a part without Content-Type is text/plain.
    content_type = headers.get("Content-Type") or "text/plain"
    parse_content_type(content_type)
    headers.remove("Content-Type")
    return BodyPart(content_type, headers, content)
