"""SIP URIs and the structured header values built on them: name-addr, Via, CSeq (RFC 3261 §19, §20,
§25). Each value object has ``parse(text)`` raising :class:`SipParseError` and ``serialize()``
(also ``str()``); ``parse(x.serialize())`` gives back an equal object.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

from callrec.telephony.sip._syntax import (
    TOKEN_CHARS,
    is_token,
    parse_params,
    parse_uint,
    quote,
    read_quoted,
    serialize_params,
)
from callrec.telephony.sip.errors import SipParseError

# unreserved / reserved / escaped of RFC 3261 §25.1, plus "[]" for IPv6 references. Anything else
# (spaces, '<', '>', '"', non-ASCII) cannot be part of a URI, which is how RFC 4475 §3.1.2.7/.8
# (`<sip:...>` or embedded LWS as Request-URI) and §3.1.2.14 (`< sip:... >`) are rejected.
_URI_CHARS = frozenset(string.ascii_letters + string.digits + "-_.!~*'()" + ";/?:@&=+$," + "%[]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_HOST = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_][A-Za-z0-9._-]*")
_TEL_CHARS = frozenset(string.hexdigits + "*#+-.()pwPW")
_TOKEN = "[" + re.escape("".join(sorted(TOKEN_CHARS))) + "]+"
_SENT_PROTOCOL = re.compile(rf"\s*({_TOKEN})\s*/\s*({_TOKEN})\s*/\s*({_TOKEN})")
SIP_SCHEMES = frozenset({"sip", "sips", "tel"})
_MAX_CSEQ = 2**31 - 1  # RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31


def parse_hostport(text: str, what: str) -> tuple[str, int | None]:
    """``host[:port]``; IPv6 references keep their brackets so they serialise unchanged."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]") + 1
        host, rest = text[:end], text[end:]
    else:
        host, colon, port_text = text.partition(":")
        rest = colon + port_text
    host = host.strip()
    if not _HOST.fullmatch(host):
        raise SipParseError(f"invalid host {host[:40]!r} in {what}")
    rest = rest.strip()
    if not rest:
        return host, None
    if rest[0] != ":":
        raise SipParseError(f"unexpected {rest[:40]!r} after the host in {what}")
    return host, parse_uint(rest[1:], f"port in {what}", 65535)


@dataclass(slots=True)
class SipUri:
    """A ``sip:``/``sips:`` URI, or a minimal ``tel:`` URI whose number is kept in ``user``.

    Any other scheme (``http:``, ``urn:``...) is kept opaque: everything after the colon in
    ``user``, no host, no parameters; only the Request-URI insists on :data:`SIP_SCHEMES`.

    ``user``, parameter values and header values stay %-escaped as received: comparison and
    routing work on the escaped form, and re-escaping could change what the peer sent.
    Parameter names are lower-cased (they are case-insensitive, RFC 3261 §19.1.4); a
    valueless parameter (``;lr``) maps to ``None``. A password, if any, stays inside ``user``.
    """

    scheme: str
    user: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        scheme, colon, rest = text.partition(":")
        if not colon or not _SCHEME.fullmatch(scheme):
            raise SipParseError(f"malformed URI {text[:60]!r}")
        scheme = scheme.lower()
        if not rest or any(c not in _URI_CHARS for c in rest):
            raise SipParseError(f"malformed URI {text[:60]!r}")
        if _BAD_ESCAPE.search(rest):
            raise SipParseError(f"malformed %-escape in URI {text[:60]!r}")
        if scheme not in SIP_SCHEMES:
            # RFC 4475 §3.3.4: `From: <http://...>` or `To: isbn:...` is well-formed SIP; keep
            # the URI opaque and let the Request-URI check or the application refuse it.
            return cls(scheme, rest, "", None)
        if scheme == "tel":
            number, semi, tel_params = rest.partition(";")
            if not number or any(c not in _TEL_CHARS for c in number) or "?" in rest:
                raise SipParseError(f"malformed tel URI {text[:60]!r}")
            return cls("tel", number, "", None, _uri_params(tel_params) if semi else {})
        # '@' cannot appear unescaped after the userinfo, while ';' and '?' can appear inside it
        # (RFC 4475 §3.1.1.9 `sip:user;par=u%40example.net@example.com`): split at the first '@'.
        at = rest.find("@")
        user = rest[:at] if at >= 0 else None
        if user == "":
            raise SipParseError(f"empty user part in URI {text[:60]!r}")
        hostpart, question, header_text = rest[at + 1 :].partition("?")
        hostport, semi, param_text = hostpart.partition(";")
        host, port = parse_hostport(hostport, "URI")
        params = _uri_params(param_text) if semi else {}
        headers = _uri_headers(header_text) if question else {}
        return cls(scheme, user, host, port, params, headers)

    def serialize(self) -> str:
        params = serialize_params(self.params)
        if self.scheme not in ("sip", "sips"):
            return f"{self.scheme}:{self.user or ''}{params}"
        out = f"{self.scheme}:" + (f"{self.user}@" if self.user is not None else "") + self.host
        if self.port is not None:
            out += f":{self.port}"
        out += params
        if self.headers:
            out += "?" + "&".join(f"{k}={v}" for k, v in self.headers.items())
        return out

    def __str__(self) -> str:
        return self.serialize()


def _uri_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for raw in text.split(";"):
        name, eq, value = raw.partition("=")
        if not name or (eq and not value):
            raise SipParseError(f"malformed URI parameter {raw[:40]!r}")
        params.setdefault(name.lower(), value if eq else None)
    return params


def _uri_headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in text.split("&"):
        name, eq, value = raw.partition("=")
        if not name or not eq:
            raise SipParseError(f"malformed URI header {raw[:40]!r}")
        headers.setdefault(name, value)
    return headers


@dataclass(slots=True)
class NameAddr:
    """``"Display" <uri>;tag=...`` as in From, To, Contact, Route (RFC 3261 §20.10, §20.20).

    The display name is unescaped (``None`` when absent). ``params`` are the header
    parameters, names lower-cased, values as written (quoted ones keep their quotes).
    """

    uri: SipUri
    display_name: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        s = text.strip()
        display: str | None = None
        if s.startswith('"'):
            display, end = read_quoted(s, 0)
            s = s[end:].lstrip()
            if not s.startswith("<"):
                raise SipParseError(f"expected '<' after the display name in {text[:60]!r}")
        lt = s.find("<")
        if lt < 0:
            # addr-spec form: the parameters after the URI belong to the header, not the URI
            # (RFC 3261 §20.10), which is why such a URI cannot carry its own parameters.
            uri_text, semi, rest = s.partition(";")
            return cls(SipUri.parse(uri_text.rstrip()), None, parse_params(semi + rest, text))
        if lt > 0:
            words = s[:lt].split()
            # RFC 4475 §3.1.2.15: an unquoted display name is a run of tokens, no commas.
            if not all(is_token(w) for w in words):
                raise SipParseError(f"display name must be tokens or quoted: {text[:60]!r}")
            display = " ".join(words) if words else None
        gt = s.find(">", lt)
        if gt < 0:
            raise SipParseError(f"missing '>' in {text[:60]!r}")
        return cls(SipUri.parse(s[lt + 1 : gt]), display, parse_params(s[gt + 1 :], text))

    def serialize(self) -> str:
        name = self.display_name
        if name is None:
            shown = ""
        elif all(is_token(w) for w in name.split(" ")):
            shown = name + " "
        else:
            shown = quote(name) + " "
        return f"{shown}<{self.uri}>{serialize_params(self.params)}"

    def __str__(self) -> str:
        return self.serialize()


@dataclass(slots=True)
class Via:
    """One Via element: ``SIP/2.0/UDP host:port;branch=z9hG4bK...;received=...;rport``.

    ``transport`` is upper-cased (it is case-insensitive; comparing ``UDP`` with ``udp`` is a
    classic interop bug). ``rport`` without a value (a request asking for it) is present in
    ``params`` as ``None``; the property gives the port a response carries.
    """

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    protocol: str = "SIP/2.0"

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        value = self.params.get("rport")
        return None if value is None else parse_uint(value, "Via rport", 65535)

    @classmethod
    def parse(cls, text: str) -> Via:
        # LWS is allowed around the slashes (RFC 4475 §3.1.1.1: "SIP  /   2.0 /UDP").
        match = _SENT_PROTOCOL.match(text)
        if match is None:
            raise SipParseError(f"malformed Via sent-protocol in {text[:60]!r}")
        name, version, transport = match.groups()
        rest = text[match.end() :]
        if not rest[:1].isspace():
            raise SipParseError(f"expected a space after the Via transport in {text[:60]!r}")
        sent_by, semi, params_text = rest.partition(";")
        host, port = parse_hostport(sent_by, "Via")
        params = parse_params(semi + params_text, "Via")
        if (rport := params.get("rport")) is not None:
            parse_uint(rport, "Via rport", 65535)  # so that the property cannot raise later
        return cls(transport.upper(), host, port, params, f"{name.upper()}/{version}")

    def serialize(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.protocol}/{self.transport} {self.host}{port}{serialize_params(self.params)}"

    def __str__(self) -> str:
        return self.serialize()


@dataclass(slots=True)
class CSeq:
    """``CSeq: 4711 INVITE`` (RFC 3261 §20.16)."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2:
            raise SipParseError(f"CSeq must be 'number METHOD': {text[:40]!r}")
        if not is_token(parts[1]):
            raise SipParseError(f"invalid CSeq method {parts[1][:40]!r}")
        return cls(parse_uint(parts[0], "CSeq number", _MAX_CSEQ), parts[1])

    def serialize(self) -> str:
        return f"{self.number} {self.method}"

    def __str__(self) -> str:
        return self.serialize()
