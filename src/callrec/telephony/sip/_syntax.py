"""Lexical building blocks of RFC 3261 §25 shared by headers, URIs and MIME parts.

Private to the package: the public value objects re-export what callers need.
"""

from __future__ import annotations

import re
import string

from callrec.telephony.sip.errors import SipParseError

TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-.!%*_+`'~")
# Unquoted parameter values are tokens in the grammar, but real peers also send hosts (IPv6 with
# ':' and '[]') and odd values (`boundary=----=_Part`): accept any visible character that cannot
# be confused with a separator, so that what we accept always serialises back unchanged.
_PARAM_VALUE_FORBIDDEN = frozenset('"<>;,')
_DIGITS = re.compile(r"[0-9]+")
# quoted-pair cannot carry CR or LF (RFC 3261 §25.1); the other controls are escaped on output
# because qdtext does not allow them unescaped.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


def is_token(text: str) -> bool:
    return bool(text) and all(c in TOKEN_CHARS for c in text)


def parse_uint(text: str, what: str, maximum: int) -> int:
    """A decimal integer of ASCII digits, leading zeros allowed (RFC 4475 §3.1.1.1)."""
    digits = text.strip()
    # ASCII only: str.isdigit() accepts '²' and Arabic-Indic digits, and int() of a huge digit
    # string raises its own ValueError; strip zeros first so "0068" is fine but 10**30 is not.
    if not _DIGITS.fullmatch(digits):
        raise SipParseError(f"{what} is not a decimal number: {text[:40]!r}")
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(maximum)) or int(significant) > maximum:
        raise SipParseError(f"{what} {significant[:40]} exceeds {maximum}")
    return int(significant)


def split_unquoted(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quoted strings and ``<...>``; pieces are returned unstripped."""
    pieces: list[str] = []
    start = 0
    quoted = angle = escaped = False
    for i, c in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "<":
            angle = True
        elif c == ">":
            angle = False
        elif c == sep and not angle:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return pieces


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Unescape the quoted string opening at ``text[start]``; return it and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                break
            out.append(text[i + 1])
            i += 2
        elif c == '"':
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise SipParseError(f"unterminated quoted string: {text[start : start + 40]!r}")


def quote(text: str) -> str:
    if "\r" in text or "\n" in text:
        raise ValueError("a quoted string cannot contain CR or LF")
    return '"' + _NEEDS_ESCAPE.sub(lambda m: "\\" + m.group(), text) + '"'


def parse_params(text: str, what: str) -> dict[str, str | None]:
    """``;name=value;flag`` (SWS allowed around ``;`` and ``=``) → names lower-cased.

    Names are case-insensitive (RFC 3261 §7.3.1); values keep their case and, when quoted,
    their quotes, so they serialise back exactly. A repeated name keeps its first value.
    """
    rest = text.strip()
    if not rest:
        return {}
    if rest[0] != ";":
        raise SipParseError(f"unexpected {rest[:40]!r} in {what}")
    params: dict[str, str | None] = {}
    for raw in split_unquoted(rest[1:], ";"):
        name, eq, value = raw.partition("=")
        name = name.strip().lower()
        if not is_token(name):
            raise SipParseError(f"invalid parameter name {name[:40]!r} in {what}")
        if not eq:
            params.setdefault(name, None)
            continue
        value = value.strip()
        if value.startswith('"'):
            if read_quoted(value, 0)[1] != len(value):
                raise SipParseError(f"text after the quoted value of {name!r} in {what}")
        elif not value or any(
            c in _PARAM_VALUE_FORBIDDEN or c.isspace() or not c.isprintable() for c in value
        ):
            raise SipParseError(f"invalid value for parameter {name!r} in {what}")
        params.setdefault(name, value)
    return params


def serialize_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def unquote(value: str) -> str:
    return read_quoted(value, 0)[0] if value.startswith('"') else value
