"""HTTP adapters for recordings: upload a segment's audio, read a recording's state."""

from __future__ import annotations

import uuid

from anyio import to_thread
from fastapi import APIRouter, Request, Response, status

from callrec.access.deps import ActorDep
from callrec.access.guard import require
from callrec.access.rules import can_administer_directory, can_see_decision_trace
from callrec.kit.deps import SessionDep
from callrec.recordings.schemas import RecordingRead
from callrec.recordings.service import RecordingService
from callrec.recordings.upload import spool, store_source

router = APIRouter(tags=["recordings"])

_UPLOAD_DOC = {
    "description": "The raw audio as the request body: WAV (PCM, μ-law, A-law), MP3, Ogg/Opus "
    "or a callrec capture (CREC). The format is detected from the bytes.",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    "required": True,
}


@router.put(
    "/calls/{call_id}/segments/{sequence}/recording",
    response_model=RecordingRead,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": _UPLOAD_DOC},
    responses={200: {"model": RecordingRead, "description": "the same audio was already sent"}},
)
async def upload_recording(
    call_id: uuid.UUID,
    sequence: int,
    request: Request,
    response: Response,
    actor: ActorDep,
    session: SessionDep,
) -> RecordingRead:
    """Upload the audio of one segment; it is processed to mono in the background. Sending the
    same bytes again is idempotent (200). 413 past the size limit, 415 for other formats."""
    state = request.app.state
    require(can_administer_directory(actor, actor.org_id))  # before reading a large body
    spooled = await spool(
        request.stream(), state.settings.data_dir / "uploads", state.settings.upload_max_bytes
    )
    try:

        def attach() -> tuple[RecordingRead, bool]:
            service = RecordingService(session, state.clock, state.settings)
            service.calls.get_full(actor.org_id, call_id)  # 404 before storing anything
            source = store_source(state.blobs, actor.org_id, call_id, sequence, spooled)
            recording, created = service.attach_source(
                actor, actor.org_id, call_id, sequence, source
            )
            return RecordingRead.model_validate(recording), created

        read, created = await to_thread.run_sync(attach)
    finally:
        spooled.path.unlink(missing_ok=True)
    if not created:
        response.status_code = status.HTTP_200_OK
    return read


@router.get("/recordings/{recording_id}", response_model=RecordingRead)
def get_recording(
    recording_id: uuid.UUID, request: Request, actor: ActorDep, session: SessionDep
) -> RecordingRead:
    """A recording's state, format, duration, quality flags and SLA, within the viewer's
    playback scope; the decision trace for org admins only."""
    state = request.app.state
    service = RecordingService(session, state.clock, state.settings)
    read = RecordingRead.model_validate(service.get(actor, recording_id))
    if can_see_decision_trace(actor, actor.org_id) is not True:
        read = read.model_copy(update={"decision_trace": None})
    return read
