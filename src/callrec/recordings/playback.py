"""Serving a recording over HTTP, without I/O: byte ranges (RFC 9110 §14), conditional
requests (§13), signed playback URLs and download file names.

Everything here takes plain values (header strings, sizes, times, keys) and returns plain
values, so each RFC case is a one-line test; the endpoints only read headers and stream.

Choices where RFC 9110 lets the server choose (docs/playback.md repeats them):
- A Range header we cannot parse, or in another unit, is ignored: 200 with the whole body.
- Several ranges in one header are ignored too (200 whole; "a server MAY ignore the Range
  header field"): media players never send them, and multipart answers invite abuse.
- A well-formed range that selects nothing (start at or past the end, ``last < first``, a
  zero suffix, or any range of an empty body) is 416 with ``Content-Range: bytes */<size>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum
from urllib.parse import quote

# --- byte ranges ----------------------------------------------------------------------------

_RANGE_SPEC = re.compile(r"(\d*)-(\d*)")
_OWS = " \t"


class RangeKind(StrEnum):
    WHOLE = "whole"  # 200: no Range, or one we ignore
    PARTIAL = "partial"  # 206
    UNSATISFIABLE = "unsatisfiable"  # 416


@dataclass(frozen=True, slots=True)
class ByteRange:
    """What to send of a body of ``size`` bytes: ``[start, end)``, half-open."""

    kind: RangeKind
    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self) -> str | None:
        if self.kind is RangeKind.PARTIAL:
            return f"bytes {self.start}-{self.end - 1}/{self.size}"
        if self.kind is RangeKind.UNSATISFIABLE:
            return f"bytes */{self.size}"
        return None


def whole(size: int) -> ByteRange:
    return ByteRange(RangeKind.WHOLE, 0, size, size)


def parse_range(header: str | None, size: int) -> ByteRange:
    """The part of a ``size``-byte body a ``Range`` header asks for (RFC 9110 §14.1.2)."""
    if header is None:
        return whole(size)
    unit, eq, ranges = header.partition("=")
    if not eq or unit.strip(_OWS).lower() != "bytes":
        return whole(size)
    # The list syntax allows empty elements ("bytes=0-1,") which recipients must skip.
    specs = [spec.strip(_OWS) for spec in ranges.split(",")]
    specs = [spec for spec in specs if spec]
    if len(specs) != 1:
        return whole(size)
    match = _RANGE_SPEC.fullmatch(specs[0])
    if match is None or match.group(0) == "-":
        return whole(size)
    first, last = match.group(1), match.group(2)
    unsatisfiable = ByteRange(RangeKind.UNSATISFIABLE, 0, 0, size)
    if not first:  # suffix: the last N bytes, or all of them if the body is shorter
        suffix = int(last)
        if suffix == 0 or size == 0:
            return unsatisfiable
        return ByteRange(RangeKind.PARTIAL, max(0, size - suffix), size, size)
    start = int(first)
    if last and int(last) < start:
        return unsatisfiable  # an invalid byte-range-spec: the set cannot be satisfied
    if start >= size:
        return unsatisfiable
    end = size if not last else min(int(last) + 1, size)
    return ByteRange(RangeKind.PARTIAL, start, end, size)


# --- validators and conditional requests ----------------------------------------------------


def etag_for(sha256: str) -> str:
    """A strong entity tag: the content hash identifies the bytes exactly."""
    return f'"{sha256}"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _entity_tags(header: str) -> list[str]:
    # Entity tags may contain commas inside their quotes; split outside them only.
    return re.findall(r'(?:W/)?"[^"]*"|\*', header)


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def not_modified(
    if_none_match: str | None,
    if_modified_since: str | None,
    etag: str,
    last_modified: datetime,
) -> bool:
    """Whether a GET/HEAD answers 304 (§13.2.2: If-None-Match first, weak comparison;
    If-Modified-Since only when there is no If-None-Match)."""
    if if_none_match is not None:
        tags = _entity_tags(if_none_match)
        return "*" in tags or any(_opaque(t) == _opaque(etag) for t in tags)
    if if_modified_since is not None:
        since = _parse_http_date(if_modified_since)
        return since is not None and last_modified.replace(microsecond=0) <= since
    return False


def if_range_holds(if_range: str | None, etag: str, last_modified: datetime) -> bool:
    """Whether the Range may be honoured under ``If-Range`` (§13.1.5): an entity tag must match
    strongly (a weak tag never does); a date must equal Last-Modified exactly."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"') or value.startswith("W/"):
        return value == etag
    moment = _parse_http_date(value)
    return moment is not None and moment == last_modified.replace(microsecond=0)


# --- media types and file names -------------------------------------------------------------

MEDIA_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "ogg": "audio/ogg"}
EXTENSIONS = {"mp3": ".mp3", "opus": ".ogg", "ogg": ".ogg"}

_UNSAFE = re.compile(r"[^A-Za-z0-9+._-]+")


def media_type(fmt: str | None) -> str:
    return MEDIA_TYPES.get(fmt or "", "application/octet-stream")


def _name_part(text: str, fallback: str) -> str:
    """A party for a file name: no path separators, quotes or control characters."""
    cleaned = "".join(
        "_" if unicodedata.category(ch).startswith(("C", "Z")) or ch in '/\\"<>:|?*;' else ch
        for ch in unicodedata.normalize("NFC", text.strip())
    ).strip("._")
    return cleaned[:64] or fallback


def download_filename(
    started_at: datetime, from_number: str, to_number: str, fmt: str | None, sequence: int = 1
) -> str:
    """``<call date>_<from>_<to>.mp3``; a later segment's recording adds ``_<sequence>``."""
    date = started_at.astimezone(UTC).date().isoformat()
    parts = [date, _name_part(from_number, "unknown"), _name_part(to_number, "unknown")]
    if sequence != 1:
        parts.append(str(sequence))
    return "_".join(parts) + EXTENSIONS.get(fmt or "", ".bin")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the exact name as
    ``filename*`` (RFC 6266 / RFC 8187) for the rest."""
    ascii_name = _UNSAFE.sub("_", filename).strip("_") or "recording"
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


# --- signed playback URLs -------------------------------------------------------------------

TOKEN_VERSION = 1
# version, recording id, user id, expiry (unix seconds)
_TOKEN_LAYOUT = struct.Struct(">B16s16sQ")
_SIG_BYTES = 16  # HMAC-SHA256 cut to 128 bits: ample against forgery, keeps URLs short
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")


class TokenError(ValueError):
    """A playback token that is malformed, forged, expired or not for this recording."""


@dataclass(frozen=True, slots=True)
class PlaybackGrant:
    recording_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime


def _key(secret_key: str) -> bytes:
    # A key of its own, so a playback signature can never be replayed as another signature
    # made with CALLREC_SECRET_KEY.
    return hmac.new(secret_key.encode(), b"callrec.playback-url.v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_playback(grant: PlaybackGrant, secret_key: str) -> str:
    body = _TOKEN_LAYOUT.pack(
        TOKEN_VERSION,
        grant.recording_id.bytes,
        grant.user_id.bytes,
        int(grant.expires_at.timestamp()),
    )
    signature = hmac.new(_key(secret_key), body, hashlib.sha256).digest()[:_SIG_BYTES]
    return _b64(body + signature)


def verify_playback(
    token: str, secret_key: str, recording_id: uuid.UUID, now: datetime
) -> PlaybackGrant:
    """The grant a token carries, or TokenError saying why it is refused."""
    # The decoder would skip foreign characters; one token must have one spelling only.
    if _TOKEN_CHARS.fullmatch(token) is None:
        raise TokenError("the playback token is malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise TokenError("the playback token is malformed") from None
    if len(raw) != _TOKEN_LAYOUT.size + _SIG_BYTES:
        raise TokenError("the playback token is malformed")
    body, signature = raw[: _TOKEN_LAYOUT.size], raw[_TOKEN_LAYOUT.size :]
    expected = hmac.new(_key(secret_key), body, hashlib.sha256).digest()[:_SIG_BYTES]
    if not hmac.compare_digest(signature, expected):
        raise TokenError("the playback token's signature is wrong")
    version, rid, uid, expires = _TOKEN_LAYOUT.unpack(body)
    if version != TOKEN_VERSION:
        raise TokenError("the playback token is of an unknown version")
    grant = PlaybackGrant(
        uuid.UUID(bytes=rid), uuid.UUID(bytes=uid), datetime.fromtimestamp(expires, UTC)
    )
    if grant.recording_id != recording_id:
        raise TokenError("the playback token is for another recording")
    if now >= grant.expires_at:
        raise TokenError("the playback URL has expired: ask for a new one")
    return grant
