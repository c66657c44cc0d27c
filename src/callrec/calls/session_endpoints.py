"""HTTP adapter for the call session view (``GET /calls/{id}/session``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from callrec.access.deps import ActorDep
from callrec.calls.session_view import SessionView, SessionViewService
from callrec.kit.deps import SessionDep
from callrec.models import CallDirection, Recording, RecordingState, SegmentReason
from callrec.recordings.schemas import ConsentEvidence

router = APIRouter(tags=["calls"])


class PartyRef(BaseModel):
    id: uuid.UUID
    name: str


class SessionSegment(BaseModel):
    sequence: int
    reason: SegmentReason = Field(
        description="why it began: answered, transferred, conference_join"
    )
    user: PartyRef | None
    device: PartyRef | None
    started_at: datetime
    ended_at: datetime | None
    recording_id: uuid.UUID | None = Field(
        default=None, description="only when the viewer may play the call's recordings"
    )


class SessionParticipant(BaseModel):
    user_id: uuid.UUID | None
    name: str
    address: str
    joined_at: datetime
    left_at: datetime | None


class RecordingLinks(BaseModel):
    playback: str = Field(description="POST: a signed stream URL for the player (audited)")
    download: str
    peaks: str


class SessionRecording(BaseModel):
    id: uuid.UUID
    segment_sequence: int
    state: RecordingState
    format: str | None
    duration_ms: int | None
    size_bytes: int | None
    sha256: str | None
    quality_flags: list[str]
    consent_evidence: ConsentEvidence | None = Field(
        description="what the parties were told (as in GET /recordings/{id}); null when the call "
        "did not pass through the recording proxy"
    )
    decision_trace: dict[str, Any] | None = Field(
        default=None, description="org admins only; the key is absent for everyone else"
    )
    links: RecordingLinks


class CallSession(BaseModel):
    id: uuid.UUID
    direction: CallDirection
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    teams: list[PartyRef]
    segments: list[SessionSegment]
    participants: list[SessionParticipant]
    recordings: list[SessionRecording] | None = Field(
        default=None,
        description="absent (not empty) when the call was not recorded or the viewer may not "
        "play it: the two cases look the same",
    )


@router.get(
    "/calls/{call_id}/session",
    response_model=CallSession,
    response_model_exclude_unset=True,
)
def call_session(
    call_id: uuid.UUID, request: Request, actor: ActorDep, session: SessionDep
) -> CallSession:
    """A call's segments in time order, its participants, and the recordings the viewer may
    play. 404 when the call is not the viewer's to see (including other organisations)."""
    view = SessionViewService(session).view(actor, call_id)
    return _session(view, request.app.url_path_for)


def _session(view: SessionView, path_for: Any) -> CallSession:
    call = view.call
    by_segment = {r.segment_id: r for r in view.recordings or ()}
    segments = sorted(call.segments, key=lambda s: (s.started_at, s.sequence))
    fields: dict[str, Any] = {
        "id": call.id,
        "direction": call.direction,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "started_at": call.started_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "teams": [PartyRef(id=t.id, name=t.name) for t in sorted(call.teams, key=lambda t: t.name)],
        "segments": [],
        "participants": [
            SessionParticipant(
                user_id=p.user_id,
                name=p.name,
                address=p.address,
                joined_at=p.joined_at,
                left_at=p.left_at,
            )
            for p in sorted(call.participants, key=lambda p: p.joined_at)
        ],
    }
    sequence_of = {s.id: s.sequence for s in call.segments}
    for seg in segments:
        user = view.users.get(seg.user_id) if seg.user_id else None
        device = view.devices.get(seg.device_id) if seg.device_id else None
        item: dict[str, Any] = {
            "sequence": seg.sequence,
            "reason": seg.reason,
            "user": PartyRef(id=user.id, name=user.display_name) if user else None,
            "device": PartyRef(id=device.id, name=device.name) if device else None,
            "started_at": seg.started_at,
            "ended_at": seg.ended_at,
        }
        if seg.id in by_segment:
            item["recording_id"] = by_segment[seg.id].id
        fields["segments"].append(SessionSegment(**item))
    if view.recordings is not None:
        ordered = sorted(view.recordings, key=lambda r: sequence_of.get(r.segment_id, 0))
        fields["recordings"] = [
            _recording(r, sequence_of.get(r.segment_id, 0), view.show_trace, path_for)
            for r in ordered
        ]
    return CallSession(**fields)


def _recording(r: Recording, sequence: int, show_trace: bool, path_for: Any) -> SessionRecording:
    rid = str(r.id)
    fields: dict[str, Any] = {
        "id": r.id,
        "segment_sequence": sequence,
        "state": r.state,
        "format": r.format,
        "duration_ms": r.duration_ms,
        "size_bytes": r.size_bytes,
        "sha256": r.sha256,
        "quality_flags": list(r.quality_flags),
        "consent_evidence": r.consent_evidence,
        "links": RecordingLinks(
            playback=str(path_for("start_playback", recording_id=rid)),
            download=str(path_for("download_recording", recording_id=rid)),
            peaks=str(path_for("recording_peaks", recording_id=rid)),
        ),
    }
    if show_trace:
        fields["decision_trace"] = r.decision_trace
    return SessionRecording(**fields)
