"""Recording lifecycle: attach an uploaded or captured source, state transitions, SLA,
reprocessing, status. Never commits; jobs are enqueued to be sent after the commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.rules import (
    Actor,
    CallFacts,
    can_administer_directory,
    can_play,
    can_view_call,
)
from callrec.calls.repository import CallRepository
from callrec.directory.recording_service import DecisionService
from callrec.kit.clock import Clock
from callrec.kit.errors import Conflict, NotFound
from callrec.kit.settings import Settings
from callrec.models import CallDirection, Recording, RecordingState, Segment
from callrec.policy import Decision, Direction
from callrec.recordings.repository import RecordingRepository
from callrec.worker.enqueue import enqueue

S = RecordingState
PROCESS_JOB = "recording.process"
MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Source:
    """An original upload or capture, already stored in the blob store."""

    format: str
    key: str
    sha256: str


def sla_deadline(captured_at: datetime, talk_seconds: float, settings: Settings) -> datetime:
    """The brief's rule: talk time / 100 + 60 s (ratio and overhead configurable)."""
    budget = talk_seconds / settings.sla_talk_ratio + settings.sla_overhead_s
    return captured_at + timedelta(seconds=budget)


def decision_snapshot(decision: Decision) -> dict[str, Any]:
    return {
        "record": decision.record,
        "reason": decision.reason.value,
        "decided_by": decision.decided_by.value,
        "direction": decision.direction.value,
        "explanation": decision.explain(),
        "trace": [step._asdict() for step in decision.trace],
    }


class RecordingService:
    def __init__(self, session: Session, clock: Clock, settings: Settings) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings
        self.recordings = RecordingRepository(session)
        self.calls = CallRepository(session)

    def attach_source(
        self,
        actor: Actor | None,
        org_id: uuid.UUID,
        call_id: uuid.UUID,
        sequence: int,
        source: Source,
    ) -> tuple[Recording, bool]:
        """The segment's recording, from an uploaded or captured file. Sending the same bytes
        again is a no-op; a failed recording takes a new source and is processed again."""
        if actor is not None:
            require(can_administer_directory(actor, org_id))
        call = self.calls.get_full(org_id, call_id)
        segment = self.calls.segment(org_id, call_id, sequence)
        existing = self.recordings.by_segment(segment.id)
        if existing is not None:
            if existing.source_sha256 == source.sha256:
                return existing, False
            if existing.state is not S.FAILED:
                raise Conflict(
                    f"segment {sequence} already has a recording ({existing.state})",
                    details={"recording_id": str(existing.id), "state": existing.state},
                )
            self._set_source(existing, source)
            self._to_captured(existing)
            enqueue(self.session, PROCESS_JOB, str(existing.id))
            return existing, False
        now = self.clock.now()
        recording = Recording(
            org_id=org_id,
            call_id=call.id,
            segment_id=segment.id,
            state=S.CAPTURING,
            capturing_at=now,
            talk_seconds=_talk_seconds(segment),
            decision_trace=self._decision(org_id, call.direction, segment),
            quality_flags=[],
        )
        self._set_source(recording, source)
        self._to_captured(recording)
        self.recordings.add(recording)
        enqueue(self.session, PROCESS_JOB, str(recording.id))
        return recording, True

    def start_capture(
        self, org_id: uuid.UUID, call_id: uuid.UUID, sequence: int, decision: Decision
    ) -> Recording:
        """Our own capture (SIPREC) begins: the recording exists, ``capturing``, from INVITE."""
        segment = self.calls.segment(org_id, call_id, sequence)
        recording = Recording(
            org_id=org_id,
            call_id=call_id,
            segment_id=segment.id,
            state=S.CAPTURING,
            capturing_at=self.clock.now(),
            decision_trace=decision_snapshot(decision),
            quality_flags=[],
        )
        return self.recordings.add(recording)

    def finish_capture(
        self, recording_id: uuid.UUID, source: Source, events: list[dict[str, Any]]
    ) -> Recording:
        """The capture is complete (BYE, timeout, or recovered after a crash): process it."""
        recording = self.session.get(Recording, recording_id)
        if recording is None:
            raise NotFound(f"recording {recording_id} not found")
        if recording.state is not S.CAPTURING:
            return recording  # finished already (a BYE retransmission, a second recovery)
        segment = self.session.get(Segment, recording.segment_id)
        if segment is not None:
            segment.ended_at = segment.ended_at or self.clock.now()
            recording.talk_seconds = _talk_seconds(segment)
        recording.events = events
        self._set_source(recording, source)
        self._to_captured(recording)
        enqueue(self.session, PROCESS_JOB, str(recording.id))
        return recording

    def get(self, actor: Actor, recording_id: uuid.UUID) -> Recording:
        recording = self.recordings.get_in_org(actor.org_id, recording_id)
        call = self.calls.get_full(actor.org_id, recording.call_id)
        facts = CallFacts(
            org_id=call.org_id,
            participant_user_ids=frozenset(
                {p.user_id for p in call.participants if p.user_id}
                | {s.user_id for s in call.segments if s.user_id}
            ),
            team_ids=frozenset(t.id for t in call.teams),
        )
        if can_view_call(actor, facts) is not True:
            # As the session view: a call outside the viewer's sight does not exist for them.
            raise NotFound(f"recording {recording_id} not found")
        require(can_play(actor, facts))
        return recording

    def reprocess(self, recording_id: uuid.UUID) -> Recording:
        recording = self.session.get(Recording, recording_id)
        if recording is None:
            raise NotFound(f"recording {recording_id} not found")
        if recording.source_key is None:
            raise Conflict("this recording has no stored source to process again")
        if recording.state in (S.CAPTURING, S.PROCESSING):
            raise Conflict(f"recording is {recording.state}; wait for it to finish")
        self._to_captured(recording)
        enqueue(self.session, PROCESS_JOB, str(recording.id))
        return recording

    def _to_captured(self, recording: Recording) -> None:
        now = self.clock.now()
        recording.state = S.CAPTURED
        recording.captured_at = now
        recording.failed_at = None
        recording.failure_reason = None
        recording.lease_until = None
        recording.attempts = 0
        recording.sla_breached = False
        recording.sla_deadline = sla_deadline(now, recording.talk_seconds or 0.0, self.settings)

    @staticmethod
    def _set_source(recording: Recording, source: Source) -> None:
        recording.source_format = source.format
        recording.source_key = source.key
        recording.source_sha256 = source.sha256

    def _decision(
        self, org_id: uuid.UUID, direction: CallDirection, segment: Segment
    ) -> dict[str, Any]:
        policy_direction = (
            Direction.OUTGOING if direction is CallDirection.OUTBOUND else Direction.INCOMING
        )
        decision = DecisionService(self.session).decide_system(
            org_id, policy_direction, device_id=segment.device_id, user_id=segment.user_id
        )
        return decision_snapshot(decision)


def _talk_seconds(segment: Segment) -> float:
    if segment.ended_at is None:
        return 0.0
    return max(0.0, (segment.ended_at - segment.started_at).total_seconds())
