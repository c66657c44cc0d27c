"""HTTP adapters for announcements, text-to-speech voices and previews, and the org's consent
settings: parse, call one service, format."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from callrec.access.deps import ActorDep
from callrec.access.guard import require
from callrec.consent import speech
from callrec.consent.errors import PayloadTooLarge
from callrec.consent.rules import can_manage_announcements
from callrec.consent.schemas import (
    AnnouncementRead,
    AnnouncementUpdate,
    ConsentSettingsRead,
    ConsentSettingsUpdate,
    PreviewRequest,
    TtsAnnouncementCreate,
    TtsParams,
    VoiceRead,
)
from callrec.consent.service import AnnouncementService, tts_request
from callrec.consent.settings_service import ConsentSettingsService
from callrec.directory.schemas import Name
from callrec.kit.deps import SessionDep
from callrec.kit.errors import CallrecError, Unprocessable
from callrec.media.announce import MAX_MP3_BYTES, RATES, wav_bytes
from callrec.models import Announcement, AnnouncementKind

router = APIRouter(tags=["consent"])

_API_PREFIX = "/api/v1"
# Room for the form's boundaries, part headers and the name field around the file.
_FORM_SLACK_BYTES = 64 * 1024
_WAV = "audio/wav"
_WAV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {_WAV: {"schema": {"type": "string", "format": "binary"}}}},
}
_MP3_FORM = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["name", "file"],
                "properties": {
                    "name": {"type": "string", "maxLength": 200},
                    "file": {"type": "string", "format": "binary", "description": "≤ 5 MiB"},
                },
            }
        }
    },
}


class UnsupportedMediaType(CallrecError):
    status_code = 415
    code = "unsupported_media_type"


class _Mp3Form(BaseModel):
    name: Name


def announcement_read(row: Announcement) -> AnnouncementRead:
    tts = None
    if row.kind is AnnouncementKind.TTS:
        tts = TtsParams(
            text=row.tts_text or "",
            voice=row.tts_voice or "",
            pitch=row.tts_pitch or 0,
            rate=row.tts_rate or 0,
            gender=row.tts_gender or "female",
        )
    audio = f"{_API_PREFIX}/announcements/{row.id}/audio"
    return AnnouncementRead(
        id=row.id,
        name=row.name,
        kind=row.kind,
        tts=tts,
        original_filename=row.original_filename,
        duration_ms=row.duration_ms,
        sha256=row.sha256,
        audio={str(rate): f"{audio}?rate={rate}" for rate in (8000, 16000)},
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _service(request: Request, session: SessionDep) -> AnnouncementService:
    state = request.app.state
    return AnnouncementService(session, state.blobs, state.settings)


# --- announcements ----------------------------------------------------------------------------


@router.get("/announcements", response_model=list[AnnouncementRead])
def list_announcements(
    request: Request, actor: ActorDep, session: SessionDep
) -> list[AnnouncementRead]:
    return [announcement_read(a) for a in _service(request, session).list(actor)]


@router.post(
    "/announcements/mp3",
    response_model=AnnouncementRead,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": _MP3_FORM},
)
async def create_mp3_announcement(
    request: Request, actor: ActorDep, session: SessionDep
) -> AnnouncementRead:
    """An MP3 upload (multipart/form-data: ``name``, ``file``), at most 5 MiB, validated
    strictly: 422 ``mp3_<reason>`` says why a file is refused, 413 past the size limit."""
    require(can_manage_announcements(actor, actor.org_id))  # before reading the body
    name, filename, data = await _read_mp3_form(request)

    def create() -> AnnouncementRead:
        row = _service(request, session).create_mp3(
            actor.org_id, name, data, filename=filename, actor=actor
        )
        return announcement_read(row)

    return await to_thread.run_sync(create)


@router.post(
    "/announcements/tts", response_model=AnnouncementRead, status_code=status.HTTP_201_CREATED
)
def create_tts_announcement(
    data: TtsAnnouncementCreate, request: Request, actor: ActorDep, session: SessionDep
) -> AnnouncementRead:
    """A text-to-speech announcement, rendered at once. Text over the limit: 422
    ``tts_text_too_long`` with ``count`` and ``limit``; unknown voice: 422 ``tts_unknown_voice``."""
    service = _service(request, session)
    return announcement_read(service.create_tts(actor.org_id, data, actor=actor))


@router.get("/announcements/{announcement_id}", response_model=AnnouncementRead)
def get_announcement(
    announcement_id: uuid.UUID, request: Request, actor: ActorDep, session: SessionDep
) -> AnnouncementRead:
    return announcement_read(_service(request, session).get(actor, announcement_id))


@router.patch("/announcements/{announcement_id}", response_model=AnnouncementRead)
def update_announcement(
    announcement_id: uuid.UUID,
    data: AnnouncementUpdate,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
) -> AnnouncementRead:
    """Rename; for text-to-speech, a change of text, voice, pitch, rate or gender renders the
    audio again."""
    row = _service(request, session).update(actor, announcement_id, data)
    return announcement_read(row)


@router.delete("/announcements/{announcement_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_announcement(
    announcement_id: uuid.UUID, request: Request, actor: ActorDep, session: SessionDep
) -> None:
    """409 while an org, team, user or device setting names it (details.assigned_to)."""
    _service(request, session).delete(actor, announcement_id)


@router.get(
    "/announcements/{announcement_id}/audio",
    response_class=Response,
    responses=_WAV_RESPONSE,
)
def announcement_audio(
    announcement_id: uuid.UUID,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    rate: int = Query(16000, description="sample rate of the WAV: 8000 or 16000"),
) -> Response:
    """The normalised announcement as mono 16-bit PCM WAV; honours a single byte Range."""
    if rate not in RATES:
        raise Unprocessable("rate is 8000 or 16000", details={"field": "rate"})
    data = _service(request, session).audio(actor, announcement_id, rate)
    return _ranged(request, data, _WAV)


# --- text-to-speech ---------------------------------------------------------------------------


@router.get("/tts/voices", response_model=list[VoiceRead])
def list_voices(actor: ActorDep) -> list[VoiceRead]:
    """The engine's languages and accents, with human-readable names."""
    del actor  # signed in is enough
    return [VoiceRead(id=v.id, name=v.name, language=v.language) for v in speech.voices()]


@router.post("/tts/preview", response_class=Response, responses=_WAV_RESPONSE)
def preview(data: PreviewRequest, request: Request, actor: ActorDep) -> Response:
    """Render without storing: the WAV exactly as it would be stored (normalised)."""
    require(can_manage_announcements(actor, actor.org_id))
    prepared = speech.synthesise(tts_request(data), request.app.state.settings.tts_max_chars)
    pcm = prepared.pcm8k if data.sample_rate == 8000 else prepared.pcm16k
    return Response(wav_bytes(pcm, data.sample_rate), media_type=_WAV)


# --- org consent settings ---------------------------------------------------------------------


@router.get("/org/consent-settings", response_model=ConsentSettingsRead)
def get_consent_settings(
    request: Request, actor: ActorDep, session: SessionDep
) -> ConsentSettingsRead:
    state = request.app.state
    return ConsentSettingsService(session, state.settings, state.blobs).read(actor)


@router.patch("/org/consent-settings", response_model=ConsentSettingsRead)
def update_consent_settings(
    data: ConsentSettingsUpdate, request: Request, actor: ActorDep, session: SessionDep
) -> ConsentSettingsRead:
    state = request.app.state
    return ConsentSettingsService(session, state.settings, state.blobs).update(actor, data)


# --- helpers ----------------------------------------------------------------------------------


async def _read_mp3_form(request: Request) -> tuple[str, str | None, bytes]:
    """(name, file name, bytes) of a multipart upload, never holding more than the limit."""
    media = request.headers.get("content-type", "")
    if not media.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "send multipart/form-data with the fields 'name' and 'file'",
            details={"accepted": "multipart/form-data"},
        )
    limit = MAX_MP3_BYTES + _FORM_SLACK_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large()
    form = await Request(request.scope, _replay(bytes(body))).form(max_files=1, max_fields=4)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _missing("file", "an MP3 file is required in the field 'file'")
        try:
            fields = _Mp3Form.model_validate({"name": form.get("name")})
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            ) from exc
        data = await upload.read()
        if len(data) > MAX_MP3_BYTES:
            raise _too_large()
        return fields.name, upload.filename, data
    finally:
        await form.close()


def _replay(body: bytes) -> Callable[[], Awaitable[dict[str, Any]]]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"an announcement file may be at most {MAX_MP3_BYTES} bytes (5 MiB)",
        details={"limit_bytes": MAX_MP3_BYTES},
    )


def _missing(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "missing"}])


def _ranged(request: Request, data: bytes, media_type: str) -> Response:
    """The whole body, or the one ``bytes=a-b`` range asked for (206), so players can seek."""
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=300"}
    wanted = request.headers.get("range", "")
    if not wanted.startswith("bytes=") or "," in wanted:
        return Response(data, media_type=media_type, headers=headers)
    first, _, last = wanted.removeprefix("bytes=").strip().partition("-")
    size = len(data)
    try:
        if first:
            start, end = int(first), int(last) if last else size - 1
        else:
            start, end = max(size - int(last), 0), size - 1
    except ValueError:
        return Response(data, media_type=media_type, headers=headers)
    end = min(end, size - 1)
    if start > end or start >= size:
        headers["Content-Range"] = f"bytes */{size}"
        error = {"code": "range_not_satisfiable", "message": f"the audio has {size} bytes"}
        return JSONResponse({"error": {**error, "details": {"size": size}}}, 416, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data[start : end + 1], 206, headers=headers, media_type=media_type)
