"""An ordered, case-insensitive, multi-valued SIP header collection (RFC 3261 §7.3)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from callrec.telephony.sip._syntax import is_token, split_unquoted
from callrec.telephony.sip.errors import SipParseError

# RFC 3261 §7.3.3 plus the compact forms later RFCs registered with IANA (3265, 3515, 3892,
# 4028, 3841, 4474). Lookups normalise both the stored and the asked-for name through this.
COMPACT_FORMS = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "b": "referred-by",
    "u": "allow-events",
    "x": "session-expires",
    "a": "accept-contact",
    "j": "reject-contact",
    "d": "request-disposition",
    "y": "identity",
    "n": "identity-info",
}

# Headers whose grammar is `#element`, so "Via: a, b" means two Vias (RFC 3261 §7.3.1). Anything
# else (Call-ID, Date, WWW-Authenticate, unknown extensions...) is never split: its commas may be
# part of a single value, and RFC 4475 §3.1.1.1 requires unknown headers to stay opaque.
LIST_HEADERS = frozenset(
    {
        "via", "contact", "route", "record-route", "path", "service-route",
        "allow", "supported", "require", "proxy-require", "unsupported",
        "accept", "accept-encoding", "accept-language", "allow-events",
        "content-encoding", "content-language", "in-reply-to",
        "alert-info", "call-info", "error-info", "warning", "reason",
        "accept-contact", "reject-contact", "request-disposition",
        "p-asserted-identity", "p-preferred-identity", "p-associated-uri",
        "history-info", "diversion", "recv-info",
        "security-client", "security-server", "security-verify",
    }
)  # fmt: skip


_WSP = " \t"


def canonical_name(name: str) -> str:
    """The lower-case long form used for comparisons: ``"i"`` and ``"CALL-ID"`` → ``"call-id"``."""
    lower = name.lower()
    return COMPACT_FORMS.get(lower, lower)


def split_head(head: bytes) -> list[str]:
    """Decode a header block and split it into lines, accepting CRLF or bare LF line ends."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError(f"header block is not valid UTF-8 at byte {exc.start}") from None
    lines = text.split("\n")
    # The last line's line end belonged to the blank-line separator the caller cut off.
    lines = [line[:-1] if line.endswith("\r") else line for line in lines[:-1]] + lines[-1:]
    for line in lines:
        if "\r" in line:
            # A bare CR could end a line for one parser and not for another: refuse it so the
            # header we forward is the header we read.
            raise SipParseError(f"bare CR inside a header line: {line[:40]!r}")
    return lines


class Headers:
    """Header fields in wire order, keeping the names as written (``i``, ``CALL-ID``...).

    Lookups are case-insensitive and see through compact forms; for list headers
    (:data:`LIST_HEADERS`) ``get_all`` returns one entry per comma-separated element, split
    outside quoted strings and ``<...>``. Values are stored as one line each (folding undone).
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str, str]] = []  # (canonical name, name as written, value)
        for name, value in items:
            self.add(name, value)

    @classmethod
    def parse(cls, lines: Sequence[str], max_headers: int = 200) -> Headers:
        """Header lines (without line ends) → Headers; continuation lines are unfolded."""
        fields: list[tuple[str, str]] = []
        for line in lines:
            if line[:1] in (" ", "\t"):
                if not fields:
                    raise SipParseError("continuation line before the first header")
                # RFC 3261 §7.3.1: a fold is equivalent to a single SP.
                name, value = fields[-1]
                fields[-1] = (name, value + " " + line.strip(_WSP))
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise SipParseError(f"header line without a colon: {line[:40]!r}")
            name = name.rstrip(_WSP)  # HCOLON allows whitespace before the colon
            if not is_token(name):
                raise SipParseError(f"invalid header name {name[:40]!r}")
            fields.append((name, value))
            if len(fields) > max_headers:
                raise SipParseError(f"more than {max_headers} headers")
        headers = cls()
        headers._items = [(canonical_name(n), n, v.strip(_WSP)) for n, v in fields]
        return headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value (first element, for list headers), or ``default``."""
        values = self.get_all(name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        key = canonical_name(name)
        values = [value for k, _, value in self._items if k == key]
        if key not in LIST_HEADERS:
            return values
        return [e.strip() for v in values for e in split_unquoted(v, ",") if e.strip()]

    def add(self, name: str, value: str) -> None:
        """Append a header line after all others."""
        self._items.append(_checked(name, value))

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` line with one, at the position of the first (else at the end)."""
        item = _checked(name, value)
        positions = [i for i, (k, _, _) in enumerate(self._items) if k == item[0]]
        if not positions:
            self._items.append(item)
            return
        self._items[positions[0]] = item
        for i in reversed(positions[1:]):
            del self._items[i]

    def remove(self, name: str) -> None:
        """Drop every ``name`` line (compact or long form alike); absent is not an error."""
        key = canonical_name(name)
        self._items = [item for item in self._items if item[0] != key]

    def copy(self) -> Headers:
        clone = Headers()
        clone._items = list(self._items)
        return clone

    def serialize(self) -> str:
        return "".join(f"{name}: {value}\r\n" for _, name, value in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """``(name as written, value)`` per line, in wire order, lists left unsplit."""
        return ((name, value) for _, name, value in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = canonical_name(name)
        return any(k == key for k, _, _ in self._items)

    def __eq__(self, other: object) -> bool:
        # Same fields, same order, same values; "i" equals "Call-ID" as a name.
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"


def _checked(name: str, value: str) -> tuple[str, str, str]:
    # Builder misuse, not malformed input: a plain ValueError, and never a header injection.
    if not is_token(name):
        raise ValueError(f"invalid header name {name!r}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} value contains CR or LF")
    return canonical_name(name), name, value.strip(_WSP)
