"""Worlds for playback tests: calls made through the real ingest (so team tags are the real
ones) with ready recordings whose audio is a real MP3 in the blob store."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache

import lameenc  # type: ignore[import-not-found]
import numpy as np
from sqlalchemy.orm import Session

from callrec.access.rules import PlaybackScope
from callrec.calls.schemas import CallCreate
from callrec.calls.service import CallService
from callrec.directory import schemas as s
from callrec.directory.service import TeamService, UserService
from callrec.kit.clock import Clock
from callrec.models import Call, CallDirection, Recording, RecordingState, Team, User
from callrec.storage import BlobStore
from tests.directory.factories import World, make_user

STARTED = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
PEAKS = {"version": 2, "channels": 1, "sample_rate": 8000, "samples_per_pixel": 80, "bits": 8,
         "length": 2, "data": [-3, 4, -5, 6]}  # fmt: skip
# The shape the recording proxy writes (docs/consent.md).
CONSENT = {
    "announcement": {"id": None, "name": "Welcome", "played": "complete", "played_ms": 4200},
    "beep_interval_s": 15,
}


@cache
def mp3_bytes(seconds: float = 10.0) -> bytes:
    """A real 8 kHz mono MP3 at 32 kbit/s: a 440 Hz tone."""
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(32)
    encoder.set_in_sample_rate(8000)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(pcm.tobytes()) + encoder.flush())


def add_call(
    session: Session,
    org_id: uuid.UUID,
    external_id: str,
    answered_by: User,
    *,
    joined: tuple[User, float, float] | None = None,
    seconds: float = 600,
    team_ids: tuple[Team, ...] = (),
    from_number: str = "+441632960001",
    to_number: str = "201",
) -> Call:
    """A call answered by ``answered_by``; ``joined`` = (user, join s, leave s) adds a conference
    participant who came in late and left early."""
    end = STARTED + timedelta(seconds=seconds)
    participants = []
    if joined is not None:
        user, at, left = joined
        participants.append({"user_id": user.id, "name": user.display_name, "address": "x",
                             "joined_at": STARTED + timedelta(seconds=at),
                             "left_at": STARTED + timedelta(seconds=left)})  # fmt: skip
    data = CallCreate.model_validate(
        {
            "external_id": external_id,
            "direction": CallDirection.INBOUND,
            "from_number": from_number,
            "to_number": to_number,
            "started_at": STARTED,
            "ended_at": end,
            "team_ids": [t.id for t in team_ids],
            "segments": [
                {"sequence": 1, "user_id": answered_by.id, "started_at": STARTED, "ended_at": end}
            ],
            "participants": participants,
        }
    )
    call, _ = CallService(session).create(None, answered_by.org_id, data)
    session.flush()
    return call


def add_recording(
    session: Session,
    blobs: BlobStore,
    clock: Clock,
    call: Call,
    *,
    sequence: int = 1,
    audio: bytes | None = None,
    fmt: str = "mp3",
    state: RecordingState = RecordingState.READY,
) -> Recording:
    audio = mp3_bytes() if audio is None else audio
    segment = next(seg for seg in call.segments if seg.sequence == sequence)
    recording = Recording(
        org_id=call.org_id,
        call_id=call.id,
        segment_id=segment.id,
        state=state,
        quality_flags=[],
        decision_trace={"record": True, "reason": "org_on", "trace": []},
        consent_evidence=CONSENT,
    )
    session.add(recording)
    session.flush()
    if state is RecordingState.READY:
        base = f"recordings/{call.org_id}/{recording.id}"
        ext = ".ogg" if fmt == "opus" else ".mp3"
        blobs.put_bytes(f"{base}/audio{ext}", audio)
        blobs.put_bytes(f"{base}/peaks.json", json.dumps(PEAKS).encode())
        recording.format = fmt
        recording.size_bytes = len(audio)
        recording.sha256 = hashlib.sha256(audio).hexdigest()
        recording.storage_key = f"{base}/audio{ext}"
        recording.peaks_key = f"{base}/peaks.json"
        recording.duration_ms = 10_000
        recording.ready_at = clock.now()
    session.flush()
    return recording


class Relation(StrEnum):
    """How the viewer relates to a call."""

    OWN = "own_call"
    PRIMARY = "same_primary_team"
    MEMBER = "member_team"
    OTHER_TEAM = "other_team"
    OTHER_ORG = "other_org"
    CONFERENCE = "conference_participant"


@dataclass
class Matrix:
    viewer: User
    recordings: dict[Relation, Recording]


def build_matrix(
    session: Session,
    blobs: BlobStore,
    clock: Clock,
    world: World,
    other: World,
    scope: PlaybackScope,
) -> Matrix:
    """The viewer: primary team sales, also a member of billing. One recorded call per relation:
    answered by the viewer; by alice (sales); by bill (billing); by bob (support); in another
    org; and answered by bob with the viewer joining as a conference participant from 2 to 5
    minutes of a 10-minute call."""
    org = world.org
    billing = TeamService(session).create(None, org.id, s.TeamCreate(name="billing"))
    world.teams["billing"] = billing
    viewer = UserService(session).create(
        None,
        org.id,
        s.UserCreate(
            email=f"vic@{org.slug}.example.com",
            display_name="Vic",
            has_licence=True,
            primary_team_id=world.teams["sales"].id,
            member_team_ids=[billing.id],
            playback_scope=scope,
        ),
    )
    bill = make_user(session, org, "bill", team=billing)
    calls = {
        Relation.OWN: add_call(session, org.id, "own", viewer),
        Relation.PRIMARY: add_call(session, org.id, "primary", world.users["alice"]),
        Relation.MEMBER: add_call(session, org.id, "member", bill),
        Relation.OTHER_TEAM: add_call(session, org.id, "other-team", world.users["bob"]),
        Relation.OTHER_ORG: add_call(session, other.org.id, "other-org", other.users["alice"]),
        Relation.CONFERENCE: add_call(
            session, org.id, "conference", world.users["bob"], joined=(viewer, 120, 300)
        ),
    }
    recordings = {rel: add_recording(session, blobs, clock, call) for rel, call in calls.items()}
    session.commit()
    return Matrix(viewer, recordings)
