"""The database side of a SIPREC capture, run off the event loop (``asyncio.to_thread``):
who the call reached, the policy decision taken at INVITE, the call/segment/recording rows,
and handing the finished capture to the pipeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.calls.schemas import CallCreate, ParticipantIn, SegmentIn
from callrec.calls.service import CallService
from callrec.directory.recording_service import DecisionService
from callrec.kit.db import session_scope
from callrec.models import CallDirection, Device, Org, Recording, RecordingState, User
from callrec.policy import Decision, Direction
from callrec.recordings.importer import describe
from callrec.recordings.service import RecordingService
from callrec.recordings.upload import store_source
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


def open_capture(
    rt: Runtime, org_slug: str | None, sip_call_id: str, parties: list[Party],
    metadata_xml: str, started: datetime,
) -> Opened:  # fmt: skip
    """Decide at INVITE. The first party that is one of ours is the side recorded: the caller
    (first participant) being ours makes it an outgoing call, else incoming."""
    with session_scope(rt.sessionmaker) as session:
        org_id = None
        if org_slug:
            org_id = session.scalar(select(Org.id).where(Org.slug == org_slug))
        device = user = None
        ours_index = -1
        for index, party in enumerate(parties):
            for aor in party.aors:
                device, user = _find(session, org_id, aor)
                if user is not None:
                    ours_index = index
                    break
            if user is not None:
                break
        direction = Direction.OUTGOING if ours_index == 0 else Direction.INCOMING
        if user is None:
            # Trunk-level: nobody of ours on the call. Decide in the configured org if any.
            if org_id is None:
                return Opened(_not_reached(direction))
            return Opened(DecisionService(session).decide_system(org_id, direction))
        org_id = user.org_id
        decision = DecisionService(session).decide_system(
            org_id, direction, device_id=device.id if device else None, user_id=user.id
        )
        if not decision.record:
            return Opened(decision)
        call, _ = CallService(session).create(
            None,
            org_id,
            CallCreate(
                external_id=f"siprec:{sip_call_id}",
                direction=CallDirection.OUTBOUND if ours_index == 0 else CallDirection.INBOUND,
                from_number=_number(parties, 0),
                to_number=_number(parties, 1),
                started_at=started,
                answered_at=started,
                segments=[SegmentIn(sequence=1, device_id=device.id if device else None,
                                    user_id=user.id, started_at=started)],
                participants=[
                    ParticipantIn(name=p.name[:200], address=(p.aors[0] if p.aors else "")[:320],
                                  joined_at=started)
                    for p in parties
                ],
            ),
        )  # fmt: skip
        call.siprec_metadata = metadata_xml
        recording = RecordingService(session, rt.clock, rt.settings).start_capture(
            org_id, call.id, 1, decision
        )
        return Opened(decision, CaptureRef(org_id, call.id, recording.id))


def finish_capture(
    rt: Runtime, ref: CaptureRef, path: Path, ended: datetime, events: list[dict[str, Any]]
) -> None:
    """Store the capture as the recording's source and queue its processing."""
    with session_scope(rt.sessionmaker) as session:
        service = CallService(session)
        call = service.calls.get_full(ref.org_id, ref.call_id)
        call.ended_at = ended
        for segment in call.segments:
            segment.ended_at = segment.ended_at or ended
        source = store_source(rt.blobs, ref.org_id, ref.call_id, 1, describe(path))
        RecordingService(session, rt.clock, rt.settings).finish_capture(
            ref.recording_id, source, events
        )


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
