"""The hash chain, pure: canonical serialisation, event hashes and chain verification.

Each event's hash is SHA-256 over a canonical JSON document of every stored field, its
sequence number and the previous event's hash included, so changing, removing, inserting or
reordering any event breaks the chain at that point. No I/O, no framework.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any
from uuid import UUID

GENESIS = "0" * 64  # the prev_hash of event #1
FORMAT = 1  # part of every hashed document, so a future layout change cannot collide
_RENUMBER_WINDOW = 64  # how far a renumbered event is looked for (diagnosis only)


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """What is hashed: every field of a stored event except its own hash."""

    seq: int
    occurred_at: datetime
    org_id: UUID | None
    actor_id: UUID | None
    action: str
    subject: str | None
    call_id: UUID | None
    details: Mapping[str, Any]
    client: str | None
    prev_hash: str


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event: ChainedEvent
    hash: str


class BreakKind(StrEnum):
    EDITED = "edited"  # the content no longer matches the hash stored with it
    DELETED = "deleted"  # a sequence number is missing
    INSERTED = "inserted"  # an event that was not appended there (the later ones renumbered)
    REORDERED = "reordered"  # events exchanged places
    BROKEN_LINK = "broken_link"  # prev_hash is not the previous event's hash
    # Only against an anchor (a head recorded earlier, outside the database):
    TRUNCATED = "truncated"  # the chain ends before the anchored event
    REWRITTEN = "rewritten"  # the anchored event's hash changed: hashes were recomputed


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head ``callrec audit verify`` printed once, kept where the database's administrators
    cannot write: what the chain alone cannot show (a cut end, a full rewrite) shows against it."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class BrokenLink:
    seq: int
    kind: BreakKind
    message: str


@dataclass(frozen=True, slots=True)
class Verification:
    count: int  # events checked and found intact, in order
    head_seq: int | None  # the last intact event (an operator may record it: see docs/audit.md)
    head_hash: str | None
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    raise TypeError(f"{type(value).__name__} cannot go into an audit event")


def normalise_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """The details as JSON gives them back: what is stored is exactly what is hashed."""
    if not details:
        return {}
    result: dict[str, Any] = json.loads(
        json.dumps(dict(details), default=_plain, allow_nan=False, sort_keys=True)
    )
    return result


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime in an audit event; use an aware UTC datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _opt(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def canonical(event: ChainedEvent) -> bytes:
    document = {
        "v": FORMAT,
        "seq": event.seq,
        "occurred_at": iso(event.occurred_at),
        "org_id": _opt(event.org_id),
        "actor_id": _opt(event.actor_id),
        "action": event.action,
        "subject": event.subject,
        "call_id": _opt(event.call_id),
        "details": event.details,
        "client": event.client,
        "prev_hash": event.prev_hash,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def event_hash(event: ChainedEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def _intact(stored: StoredEvent) -> bool:
    return event_hash(stored.event) == stored.hash


def _appended_as(stored: StoredEvent) -> int | None:
    """The sequence number this event's hash was made with, if it is a nearby other one."""
    seq = stored.event.seq
    for other in range(max(1, seq - _RENUMBER_WINDOW), seq + _RENUMBER_WINDOW + 1):
        if other != seq and event_hash(replace(stored.event, seq=other)) == stored.hash:
            return other
    return None


def _mismatch(stored: StoredEvent, following: StoredEvent | None) -> BrokenLink:
    seq = stored.event.seq
    was = _appended_as(stored)
    if was is None:
        return BrokenLink(
            seq, BreakKind.EDITED, f"event #{seq} was edited: its content does not match its hash"
        )
    if was < seq:
        return BrokenLink(
            seq,
            BreakKind.INSERTED,
            f"event #{seq} was appended as #{was}: {seq - was} event(s) were inserted before "
            "it and the later ones renumbered",
        )
    if following is not None and _appended_as(following) == seq:
        return BrokenLink(
            seq,
            BreakKind.REORDERED,
            f"event #{seq} was appended as #{was} and #{following.event.seq} as #{seq}: the "
            "events were reordered",
        )
    return BrokenLink(
        seq,
        BreakKind.DELETED,
        f"event #{seq} was appended as #{was}: {was - seq} event(s) before it were deleted "
        "and the later ones renumbered",
    )


def _check(
    stored: StoredEvent, following: StoredEvent | None, expected: int, prev: str
) -> BrokenLink | None:
    seq = stored.event.seq
    if seq < expected:
        return BrokenLink(
            seq, BreakKind.INSERTED, f"event #{seq} lies before the start of the chain (#1)"
        )
    if seq > expected:
        missing = f"#{expected} is" if seq == expected + 1 else f"#{expected} to #{seq - 1} are"
        return BrokenLink(
            expected, BreakKind.DELETED, f"event {missing} missing: the chain jumps to #{seq}"
        )
    if not _intact(stored):
        return _mismatch(stored, following)
    if stored.event.prev_hash != prev:
        before = "the chain's start" if seq == 1 else f"#{seq - 1}"
        return BrokenLink(
            seq,
            BreakKind.BROKEN_LINK,
            f"event #{seq} does not follow {before}: its prev_hash is not the hash before it "
            f"(#{seq} was inserted, or {before} replaced with a recomputed hash)",
        )
    return None


def _with_next(events: Iterable[StoredEvent]) -> Iterator[tuple[StoredEvent, StoredEvent | None]]:
    iterator = iter(events)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following
        current = following


def verify(events: Iterable[StoredEvent], anchor: Anchor | None = None) -> Verification:
    """Walks the events in ``seq`` order and stops at the first broken link."""
    expected, prev, count = 1, GENESIS, 0
    head: StoredEvent | None = None
    for stored, following in _with_next(events):
        broken = _check(stored, following, expected, prev)
        if broken is None and anchor is not None and stored.event.seq == anchor.seq:
            broken = _against(anchor, stored)
        if broken is not None:
            return _result(count, head, broken)
        expected, prev, count, head = expected + 1, stored.hash, count + 1, stored
    if anchor is not None and count < anchor.seq:
        ends = "is empty" if head is None else f"ends at #{count}"
        return _result(
            count,
            head,
            BrokenLink(
                count + 1,
                BreakKind.TRUNCATED,
                f"the chain {ends} but #{anchor.seq} was recorded: events were removed from "
                "the end",
            ),
        )
    return _result(count, head, None)


def _against(anchor: Anchor, stored: StoredEvent) -> BrokenLink | None:
    if stored.hash == anchor.hash:
        return None
    return BrokenLink(
        stored.event.seq,
        BreakKind.REWRITTEN,
        f"event #{stored.event.seq} is intact in itself but its hash is not the one recorded: "
        "the chain up to it was rewritten with recomputed hashes",
    )


def _result(count: int, head: StoredEvent | None, broken: BrokenLink | None) -> Verification:
    if head is None:
        return Verification(count, None, None, broken)
    return Verification(count, head.event.seq, head.hash, broken)
