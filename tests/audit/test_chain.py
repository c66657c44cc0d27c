"""The pure hash chain: canonical form, hashes, and what verification says about tampering."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from callrec.audit.chain import (
    GENESIS,
    Anchor,
    BreakKind,
    ChainedEvent,
    StoredEvent,
    canonical,
    event_hash,
    normalise_details,
    verify,
)
from callrec.policy import Level

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def chain(count: int) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    prev = GENESIS
    for seq in range(1, count + 1):
        event = ChainedEvent(
            seq=seq,
            occurred_at=START + timedelta(seconds=seq),
            org_id=uuid.UUID(int=1),
            actor_id=uuid.UUID(int=2),
            action="settings.changed",
            subject=f"user:{uuid.UUID(int=seq)}",
            call_id=None,
            details={"n": seq},
            client="192.0.2.1",
            prev_hash=prev,
        )
        stored = StoredEvent(event, event_hash(event))
        events.append(stored)
        prev = stored.hash
    return events


def renumbered(stored: StoredEvent, seq: int) -> StoredEvent:
    return StoredEvent(dataclasses.replace(stored.event, seq=seq), stored.hash)


def test_an_intact_chain_verifies_and_names_its_head() -> None:
    events = chain(10)
    result = verify(events)
    assert result.ok and result.count == 10
    assert (result.head_seq, result.head_hash) == (10, events[-1].hash)


def test_an_empty_chain_is_intact() -> None:
    result = verify([])
    assert result.ok and result.count == 0 and result.head_seq is None


def test_every_field_is_in_the_hash() -> None:
    event = chain(1)[0].event
    others = {
        "seq": 2, "occurred_at": START, "org_id": None, "actor_id": uuid.UUID(int=9),
        "action": "auth.login", "subject": None, "call_id": uuid.UUID(int=3),
        "details": {"n": 2}, "client": "198.51.100.1", "prev_hash": "f" * 64,
    }  # fmt: skip
    assert set(others) == {f.name for f in dataclasses.fields(ChainedEvent)}
    for name, value in others.items():
        assert event_hash(dataclasses.replace(event, **{name: value})) != event_hash(event), name


def test_the_canonical_form_is_sorted_compact_json() -> None:
    event = chain(1)[0].event
    document = json.loads(canonical(event))
    assert list(document) == sorted(document)
    assert document["occurred_at"] == "2026-03-01T09:00:01.000000+00:00"
    assert b" " not in canonical(event)
    reordered = dataclasses.replace(event, details={"b": 1, "a": 2})
    assert canonical(reordered) == canonical(dataclasses.replace(event, details={"a": 2, "b": 1}))


def test_details_are_stored_as_json_gives_them_back() -> None:
    user = uuid.uuid4()
    assert normalise_details({"level": Level.USER, "user": user, "at": START, "ids": {2, 1}}) == {
        "level": "user",
        "user": str(user),
        "at": "2026-03-01T09:00:00.000000+00:00",
        "ids": ["1", "2"],
    }
    with pytest.raises(ValueError, match="JSON compliant"):
        normalise_details({"x": float("nan")})
    with pytest.raises(TypeError, match="cannot go into an audit event"):
        normalise_details({"x": object()})


def test_an_edited_event_is_named() -> None:
    events = chain(8)
    stored = events[4]
    events[4] = StoredEvent(dataclasses.replace(stored.event, details={"n": 99}), stored.hash)
    result = verify(events)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (5, BreakKind.EDITED)
    assert result.count == 4 and result.head_seq == 4


def test_a_deleted_event_is_named() -> None:
    events = chain(8)
    del events[3]
    result = verify(events)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (4, BreakKind.DELETED)
    assert "#4 is missing" in result.broken.message


def test_deleted_events_with_the_rest_renumbered_are_named() -> None:
    events = chain(8)
    rest = [renumbered(e, e.event.seq - 2) for e in events[5:]]
    result = verify(events[:3] + rest)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (4, BreakKind.DELETED)


def test_two_exchanged_events_are_named_reordered() -> None:
    events = chain(8)
    events[2], events[3] = renumbered(events[3], 3), renumbered(events[2], 4)
    result = verify(events)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (3, BreakKind.REORDERED)


def test_an_inserted_event_with_the_rest_renumbered_is_named() -> None:
    events = chain(8)
    fake = ChainedEvent(**{**dataclasses.asdict(events[3].event), "seq": 5, "details": {}})
    fake = dataclasses.replace(fake, prev_hash=events[3].hash)
    inserted = [*events[:4], StoredEvent(fake, event_hash(fake))]
    inserted += [renumbered(e, e.event.seq + 1) for e in events[4:]]
    result = verify(inserted)
    assert result.broken is not None
    # The forged #5 links to #4 perfectly; the old #5, now #6, gives it away.
    assert (result.broken.seq, result.broken.kind) == (6, BreakKind.INSERTED)


def test_an_event_relinked_with_a_recomputed_hash_breaks_the_next_link() -> None:
    events = chain(6)
    edited = dataclasses.replace(events[2].event, details={"n": 0})
    events[2] = StoredEvent(edited, event_hash(edited))
    result = verify(events)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (4, BreakKind.BROKEN_LINK)


def test_an_event_before_the_start_is_an_insertion() -> None:
    events = chain(3)
    result = verify([renumbered(events[0], 0), *events])
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (0, BreakKind.INSERTED)


def test_an_anchor_catches_events_cut_from_the_end() -> None:
    events = chain(8)
    anchor = Anchor(8, events[-1].hash)
    assert verify(events[:6]).ok  # the chain alone cannot tell
    result = verify(events[:6], anchor)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (7, BreakKind.TRUNCATED)
    assert verify(events, anchor).ok
    assert verify([*events, *chain(9)[8:]], anchor).ok  # appends after the anchor are fine


def test_an_anchor_catches_a_chain_rewritten_with_recomputed_hashes() -> None:
    events = chain(8)
    anchor = Anchor(6, events[5].hash)
    rewritten: list[StoredEvent] = []
    prev = GENESIS
    for stored in events:
        details = {"n": 0} if stored.event.seq == 3 else stored.event.details
        event = dataclasses.replace(stored.event, details=details, prev_hash=prev)
        rewritten.append(StoredEvent(event, event_hash(event)))
        prev = rewritten[-1].hash
    assert verify(rewritten).ok
    result = verify(rewritten, anchor)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (6, BreakKind.REWRITTEN)
    assert result.count == 5
