"""The database side of our own captures (the SIPREC server and the recording proxy), run off
the event loop (``asyncio.to_thread``): who the call reached, the policy decision taken at
INVITE, the call/segment/recording rows, and handing the finished capture to the pipeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callrec.calls.schemas import CallCreate, ParticipantIn, SegmentIn
from callrec.calls.service import CallService
from callrec.directory.recording_service import DecisionService
from callrec.kit.db import session_scope
from callrec.models import (
    Call,
    CallDirection,
    Device,
    Org,
    Participant,
    Recording,
    RecordingState,
    Segment,
    SegmentReason,
    User,
)
from callrec.policy import Decision, Direction
from callrec.recordings.importer import describe
from callrec.recordings.service import RecordingService
from callrec.recordings.upload import store_source
from callrec.telephony.recorder import CallRecorder
from callrec.worker.runtime import Runtime


@dataclass(frozen=True)
class Party:
    name: str
    aors: tuple[str, ...]


@dataclass(frozen=True)
class CaptureRef:
    org_id: uuid.UUID
    call_id: uuid.UUID
    recording_id: uuid.UUID


@dataclass(frozen=True)
class Opened:
    """The INVITE's outcome: the decision, and the rows when it is recorded."""

    decision: Decision
    ref: CaptureRef | None = None
    user_id: uuid.UUID | None = None  # the party recorded (a transfer changes it)


def _user_part(aor: str) -> str:
    rest = aor.split(":", 1)[-1]
    return rest.split("@", 1)[0].split(";", 1)[0]


def _find(
    session: Session, org_id: uuid.UUID | None, aor: str
) -> tuple[Device | None, User | None]:
    """A participant is ours when its AOR is a device's AOR, or its user part an extension."""
    devices, users = select(Device), select(User)
    if org_id is not None:
        devices, users = devices.where(Device.org_id == org_id), users.where(User.org_id == org_id)
    device = session.scalars(devices.where(Device.aor == aor)).first()
    if device is None:
        number = _user_part(aor)
        device = session.scalars(devices.where(Device.extension == number)).first()
        if device is None:
            return None, session.scalars(users.where(User.extension == number)).first()
    return device, session.get(User, device.user_id)


@dataclass(frozen=True)
class Reach:
    """Who of ours a call reaches and the policy decision taken for it, before any row exists
    (the recording proxy decides at INVITE but creates the rows only when the callee answers,
    so a cancelled or busy call leaves nothing behind)."""

    decision: Decision
    org_id: uuid.UUID | None
    user_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    ours_index: int = -1  # which party is ours: 0 (the caller) makes the call outgoing

    @property
    def direction(self) -> CallDirection:
        return CallDirection.OUTBOUND if self.ours_index == 0 else CallDirection.INBOUND


def _decide(session: Session, org_slug: str | None, parties: list[Party]) -> Reach:
    """The first party that is one of ours is the side recorded: the caller (first party)
    being ours makes it an outgoing call, else incoming."""
    org_id = None
    if org_slug:
        org_id = session.scalar(select(Org.id).where(Org.slug == org_slug))
    ours_index, device, user = _ours(session, org_id, parties)
    direction = Direction.OUTGOING if ours_index == 0 else Direction.INCOMING
    if user is None:
        # Trunk-level: nobody of ours on the call. Decide in the configured org if any.
        if org_id is None:
            return Reach(_not_reached(direction), None)
        return Reach(DecisionService(session).decide_system(org_id, direction), org_id)
    device_id = device.id if device else None
    decision = DecisionService(session).decide_system(
        user.org_id, direction, device_id=device_id, user_id=user.id
    )
    return Reach(decision, user.org_id, user.id, device_id, ours_index)


def decide_call(rt: Runtime, org_slug: str | None, parties: list[Party]) -> Reach:
    """Decide at INVITE without writing anything."""
    with rt.sessionmaker() as session:
        return _decide(session, org_slug, parties)


def _create(
    session: Session, rt: Runtime, reach: Reach, external_id: str, parties: list[Party],
    started: datetime, consent_evidence: dict[str, Any] | None = None,
) -> tuple[Call, CaptureRef]:  # fmt: skip
    assert reach.org_id is not None and reach.user_id is not None
    call, _ = CallService(session).create(
        None,
        reach.org_id,
        CallCreate(
            external_id=external_id,
            direction=reach.direction,
            from_number=_number(parties, 0),
            to_number=_number(parties, 1),
            started_at=started,
            answered_at=started,
            segments=[SegmentIn(sequence=1, device_id=reach.device_id, user_id=reach.user_id,
                                started_at=started)],
            participants=[
                ParticipantIn(name=p.name[:200], address=(p.aors[0] if p.aors else "")[:320],
                              joined_at=started)
                for p in parties
            ],
        ),
    )  # fmt: skip
    recording = RecordingService(session, rt.clock, rt.settings).start_capture(
        reach.org_id, call.id, 1, reach.decision
    )
    recording.consent_evidence = consent_evidence
    return call, CaptureRef(reach.org_id, call.id, recording.id)


def create_capture(
    rt: Runtime, reach: Reach, external_id: str, parties: list[Party], started: datetime,
    consent_evidence: dict[str, Any] | None = None,
) -> CaptureRef:  # fmt: skip
    """The call, its first segment and a ``capturing`` recording, for a call decided earlier
    with :func:`decide_call` whose decision is to record."""
    with session_scope(rt.sessionmaker) as session:
        return _create(session, rt, reach, external_id, parties, started, consent_evidence)[1]


def open_capture(
    rt: Runtime, org_slug: str | None, sip_call_id: str, parties: list[Party],
    metadata_xml: str, started: datetime,
) -> Opened:  # fmt: skip
    """Decide at INVITE and, when recorded, create the rows at once (SIPREC: the SRC only
    opens a recording session for a call that is already up)."""
    with session_scope(rt.sessionmaker) as session:
        reach = _decide(session, org_slug, parties)
        if not reach.decision.record or reach.user_id is None:
            return Opened(reach.decision)
        call, ref = _create(session, rt, reach, f"siprec:{sip_call_id}", parties, started)
        call.siprec_metadata = metadata_xml
        return Opened(reach.decision, ref, reach.user_id)


def recorded_user(rt: Runtime, org_id: uuid.UUID, parties: list[Party]) -> uuid.UUID | None:
    """Which of our users the present parties reach (the first that is ours), if any."""
    with rt.sessionmaker() as session:
        _, _, user = _ours(session, org_id, parties)
        return user.id if user is not None else None


def start_segment(
    rt: Runtime, ref: CaptureRef, sequence: int, parties: list[Party], metadata_xml: str | None,
    started: datetime, consent_evidence: dict[str, Any] | None = None,
) -> Opened:  # fmt: skip
    """A transfer: the call goes on with someone else of ours. The previous segment has ended;
    this one starts now, with its own decision and (if recorded) its own recording.
    ``metadata_xml``: the SIPREC metadata now in force (None: not a SIPREC call)."""
    with session_scope(rt.sessionmaker) as session:
        index, device, user = _ours(session, ref.org_id, parties)
        call = CallService(session).calls.get_full(ref.org_id, ref.call_id)
        if metadata_xml is not None:
            call.siprec_metadata = metadata_xml
        if user is None:
            return Opened(_not_reached(Direction.INCOMING))
        direction = Direction.OUTGOING if index == 0 else Direction.INCOMING
        decision = DecisionService(session).decide_system(
            ref.org_id, direction, device_id=device.id if device else None, user_id=user.id
        )
        call.segments.append(
            Segment(org_id=ref.org_id, sequence=sequence, user_id=user.id,
                    device_id=device.id if device else None,
                    reason=SegmentReason.TRANSFERRED, started_at=started)
        )  # fmt: skip
        if user.id not in {p.user_id for p in call.participants}:
            call.participants.append(
                Participant(org_id=ref.org_id, user_id=user.id, name=user.display_name,
                            address=parties[index].aors[0][:320], joined_at=started)
            )  # fmt: skip
        CallService(session).tag_primary_teams(call)  # the new party's team sees the call too
        session.flush()
        if not decision.record:
            return Opened(decision, None, user.id)
        recording = RecordingService(session, rt.clock, rt.settings).start_capture(
            ref.org_id, ref.call_id, sequence, decision
        )
        recording.consent_evidence = consent_evidence
        return Opened(decision, CaptureRef(ref.org_id, ref.call_id, recording.id), user.id)


def _ours(
    session: Session, org_id: uuid.UUID | None, parties: list[Party]
) -> tuple[int, Device | None, User | None]:
    for index, party in enumerate(parties):
        for aor in party.aors:
            device, user = _find(session, org_id, aor)
            if user is not None:
                return index, device, user
    return -1, None, None


def finish_capture(
    rt: Runtime, ref: CaptureRef, path: Path, ended: datetime, events: list[dict[str, Any]],
    *, call_ended: bool = True,
) -> None:  # fmt: skip
    """Store the capture as the recording's source and queue its processing."""
    with session_scope(rt.sessionmaker) as session:
        call = CallService(session).calls.get_full(ref.org_id, ref.call_id)
        if call_ended:
            call.ended_at = ended
        recording = session.get(Recording, ref.recording_id)
        segment = session.get(Segment, recording.segment_id) if recording else None
        if segment is not None and segment.ended_at is None:
            segment.ended_at = ended
        sequence = segment.sequence if segment is not None else 1
        source = store_source(rt.blobs, ref.org_id, ref.call_id, sequence, describe(path))
        RecordingService(session, rt.clock, rt.settings).finish_capture(
            ref.recording_id, source, events
        )


def finish_recorder(
    rt: Runtime, ref: CaptureRef, recorder: CallRecorder, ended: datetime, *, call_ended: bool
) -> None:
    """A closed recorder's capture (``recorder.close()`` runs on the event loop first, where its
    packets arrive) handed to the pipeline with its digits, and its spool file removed."""
    events = [
        {"type": "dtmf", "leg": e.leg, "digit": e.digit, "at_ms": e.at_ms,
         "duration_ms": e.duration_ms}
        for e in recorder.events()
    ]  # fmt: skip
    finish_capture(rt, ref, recorder.path, ended, events, call_ended=call_ended)
    recorder.path.unlink(missing_ok=True)


def _number(parties: list[Party], index: int) -> str:
    if index < len(parties) and parties[index].aors:
        return _user_part(parties[index].aors[0])[:128]
    return ""


def _not_reached(direction: Direction) -> Decision:
    from callrec.policy import CallContext, LevelSettings, decide

    return decide(CallContext(direction=direction, org=LevelSettings()))


def recover_spool(rt: Runtime, spool: Path) -> int:
    """After a crash of the media server: every capture left in the spool whose recording is
    still ``capturing`` is finished as it stands (at most the last second is lost) and sent
    for processing. Returns how many were recovered."""
    recovered = 0
    for path in sorted(spool.glob("*.crec")):
        try:
            recording_id = uuid.UUID(path.stem)
        except ValueError:
            continue
        with session_scope(rt.sessionmaker) as session:
            recording = session.get(Recording, recording_id)
            ref = None
            if recording is not None and recording.state is RecordingState.CAPTURING:
                ref = CaptureRef(recording.org_id, recording.call_id, recording.id)
        if ref is not None:
            finish_capture(rt, ref, path, rt.clock.now(), [])
            recovered += 1
        path.unlink(missing_ok=True)
    return recovered


def discard_capture(rt: Runtime, ref: CaptureRef) -> None:
    """The SRC cancelled the INVITE while it was being decided: the recording session never
    started, so the call, segment and recording rows made for it go (nothing else refers to
    them yet; the database cascades from the call)."""
    with session_scope(rt.sessionmaker) as session:
        session.execute(delete(Call).where(Call.id == ref.call_id, Call.org_id == ref.org_id))
