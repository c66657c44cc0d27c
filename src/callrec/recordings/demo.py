"""Recorded calls for the demo tenant: synthetic two-party conversations captured in our own
CREC format and sent through the real pipeline (queue → worker → blob store)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.calls.schemas import CallCreate, SegmentIn
from callrec.calls.service import CallService
from callrec.kit.db import session_scope
from callrec.media.synth import write_call
from callrec.models import CallDirection, Org, SegmentReason
from callrec.recordings.importer import describe
from callrec.recordings.service import RecordingService
from callrec.recordings.upload import store_source
from callrec.worker.runtime import Runtime


@dataclass(frozen=True)
class _DemoSegment:
    extension: str
    seconds: float
    reason: SegmentReason = SegmentReason.ANSWERED
    hold: tuple[float, float] | None = None
    recorded: bool = True


@dataclass(frozen=True)
class _DemoCall:
    direction: CallDirection
    number: str
    segments: tuple[_DemoSegment, ...]
    minutes_ago: int


_CALLS = (
    _DemoCall(CallDirection.INBOUND, "+441632960001", (_DemoSegment("203", 45),), 180),
    _DemoCall(CallDirection.OUTBOUND, "+441632960002", (_DemoSegment("202", 60),), 150),
    _DemoCall(
        CallDirection.INBOUND, "+441632960003", (_DemoSegment("301", 90, hold=(30, 40)),), 120
    ),
    _DemoCall(
        CallDirection.INBOUND,
        "+441632960004",
        (
            _DemoSegment("302", 40),
            _DemoSegment("301", 40, reason=SegmentReason.TRANSFERRED),
        ),
        90,
    ),
    _DemoCall(CallDirection.INBOUND, "+441632960005", (_DemoSegment("101", 30),), 60),
    # Brief example 1: Alice's desk phone is Off, so this call is in the history, unrecorded.
    _DemoCall(
        CallDirection.INBOUND, "+441632960006", (_DemoSegment("201", 35, recorded=False),), 30
    ),
)


def load_demo_calls(rt: Runtime, org_slug: str) -> int:
    """Creates the demo calls and queues their recordings; returns how many were queued."""
    now = rt.clock.now().replace(microsecond=0)
    queued = 0
    with tempfile.TemporaryDirectory() as tmp:
        captures = _write_captures(Path(tmp), now)
        with session_scope(rt.sessionmaker) as session:
            queued = _create_calls(rt, session, org_slug, now, captures)
    return queued


def _write_captures(tmp: Path, now: datetime) -> dict[tuple[int, int], Path]:
    """The audio first, outside any transaction: a write lock is never held while it renders."""
    paths = {}
    for n, demo in enumerate(_CALLS, start=1):
        started = now - timedelta(minutes=demo.minutes_ago)
        for seq, seg in enumerate(demo.segments, start=1):
            if seg.recorded:
                path = tmp / f"{n}-{seq}.crec"
                write_call(path, seg.seconds, seed=n * 10 + seq, hold=seg.hold,
                           started_at_ms=_ms(started))  # fmt: skip
                paths[(n, seq)] = path
    return paths


def _create_calls(
    rt: Runtime, session: Session, org_slug: str, now: datetime,
    captures: dict[tuple[int, int], Path],
) -> int:  # fmt: skip
    queued = 0
    org_id = session.scalar(select(Org.id).where(Org.slug == org_slug))
    if org_id is None:
        raise LookupError(f"no org {org_slug}")
    for n, demo in enumerate(_CALLS, start=1):
        started = now - timedelta(minutes=demo.minutes_ago)
        segments, at = [], started
        for seq, seg in enumerate(demo.segments, start=1):
            end = at + timedelta(seconds=seg.seconds)
            segments.append(
                SegmentIn(sequence=seq, extension=seg.extension, reason=seg.reason,
                          started_at=at, ended_at=end)
            )  # fmt: skip
            at = end
        call, _ = CallService(session).create(
            None,
            org_id,
            CallCreate(
                external_id=f"demo-call-{n}",
                direction=demo.direction,
                from_number=demo.number if demo.direction is CallDirection.INBOUND else "",
                to_number=demo.number if demo.direction is CallDirection.OUTBOUND else "",
                started_at=started,
                answered_at=started + timedelta(seconds=4),
                ended_at=at,
                segments=segments,
            ),
        )
        for seq, seg in enumerate(demo.segments, start=1):
            if not seg.recorded:
                continue
            source = store_source(rt.blobs, org_id, call.id, seq, describe(captures[(n, seq)]))
            RecordingService(session, rt.clock, rt.settings).attach_source(
                None, org_id, call.id, seq, source
            )
            queued += 1
    return queued


def _ms(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp() * 1000)


__all__ = ["load_demo_calls"]
