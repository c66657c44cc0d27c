"""HTTP adapters for listening: signed playback URLs, Range streaming, download, peaks.

The browser's audio element cannot send a bearer token, so the player first asks
``POST /recordings/{id}/playback`` (authenticated, audited once) for a short-lived signed URL
and streams from it with plain Range requests. Every byte comes from the blob store in
bounded chunks; nothing reads a whole recording into memory.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from callrec.access.deps import SESSION_COOKIE, get_actor
from callrec.access.service import AuthService
from callrec.kit.db import session_scope
from callrec.kit.errors import CallrecError, NotFound
from callrec.recordings.playback import (
    ByteRange,
    RangeKind,
    content_disposition,
    download_filename,
    etag_for,
    http_date,
    if_range_holds,
    media_type,
    not_modified,
    parse_range,
    whole,
)
from callrec.recordings.playback_service import PlaybackService, Servable
from callrec.storage import BlobNotFound, BlobStore, BlobStream

router = APIRouter(tags=["playback"])
T = TypeVar("T")

_AUDIO_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"audio/mpeg": {}, "audio/ogg": {}}, "description": "the whole recording"},
    206: {"description": "the byte range asked for (Content-Range)"},
    304: {"description": "If-None-Match / If-Modified-Since matched"},
    416: {"description": "the range selects nothing; Content-Range: bytes */<size>"},
}


class PlaybackUrl(BaseModel):
    url: str
    expires_at: datetime


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _service(request: Request, session: Session) -> PlaybackService:
    state = request.app.state
    return PlaybackService(session, state.clock, state.settings.secret_key)


@router.post("/recordings/{recording_id}/playback", response_model=PlaybackUrl)
async def start_playback(recording_id: uuid.UUID, request: Request) -> PlaybackUrl:
    """Start a listening session: a signed stream URL valid for 10 minutes, bound to this
    recording and this user, for the audio element. Audited here, once; not per Range
    request. 409 while the recording is not ready."""

    def issue(session: Session) -> PlaybackUrl:
        actor = get_actor(request, session)
        issued = _service(request, session).issue_url(actor, recording_id, _client(request))
        return PlaybackUrl(url=_signed_path(request, recording_id, issued.token),
                           expires_at=issued.grant.expires_at)  # fmt: skip

    return await _in_one_thread(request, issue)


@router.get(
    "/recordings/{recording_id}/stream",
    name="stream_recording",
    response_class=Response,
    responses=_AUDIO_RESPONSES,
)
@router.head(
    "/recordings/{recording_id}/stream",
    name="stream_recording_head",
    response_class=Response,
    include_in_schema=False,  # documented with the GET; HEAD answers its headers only
)
async def stream_recording(
    recording_id: uuid.UUID,
    request: Request,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The recording's audio through a signed URL (no credentials needed), with Range, If-Range,
    ETag and Last-Modified. 401 for a bad or expired token; 403 when its user may no longer
    play it or other credentials are sent along. Without a token, credentials are checked as
    for POST /playback and the answer is a 307 to a newly issued (and audited) signed URL."""

    def serve(session: Session) -> Response:
        if token is None:
            actor = get_actor(request, session)
            issued = _service(request, session).issue_url(actor, recording_id, _client(request))
            # 307 keeps the method (HEAD stays HEAD) and the client resends its Range header.
            return Response(status_code=307, headers={
                "Location": _signed_path(request, recording_id, issued.token),
                "Cache-Control": "no-store",
            })  # fmt: skip
        recording = _service(request, session).for_token(
            token, recording_id, _presented_user(request, session)
        )
        session.commit()  # release the database before touching the blob store
        return _serve(request, request.app.state.blobs, recording)

    return await _in_one_thread(request, serve)


def _signed_path(request: Request, recording_id: uuid.UUID, token: str) -> str:
    path = request.app.url_path_for("stream_recording", recording_id=str(recording_id))
    return f"{path}?token={token}"


async def _in_one_thread(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work`` with its own unit of work in one worker thread, committed at the end.

    The hot playback routes do not spread a transaction over several threadpool hops (as
    separate session, actor and endpoint dependencies would): on SQLite every transaction
    holds the write lock from its first query (BEGIN IMMEDIATE), and a request holding it while
    queued for a thread behind 40 requests waiting for that lock stalls them all until the
    busy timeout. Here the lock is only ever held by a running thread.
    """

    def run() -> T:
        with session_scope(request.app.state.sessionmaker) as session:
            return work(session)

    return await to_thread.run_sync(run)


@router.get(
    "/recordings/{recording_id}/download",
    name="download_recording",
    response_class=Response,
    responses=_AUDIO_RESPONSES,
)
@router.head(
    "/recordings/{recording_id}/download",
    name="download_recording_head",
    response_class=Response,
    include_in_schema=False,
)
async def download_recording(recording_id: uuid.UUID, request: Request) -> Response:
    """The recording as an attachment named ``<call date>_<from>_<to>.mp3``. Audited once per
    download: a GET answered from byte 0 (a resumed download's later ranges are not)."""

    def serve(session: Session) -> Response:
        actor = get_actor(request, session)
        service = _service(request, session)
        found = service.playable(actor, recording_id)
        call = found.call
        name = download_filename(
            call.started_at, call.from_number, call.to_number, found.recording.format,
            found.sequence,
        )  # fmt: skip
        response = _serve(
            request,
            request.app.state.blobs,
            Servable.of(found.recording),
            extra={"Content-Disposition": content_disposition(name)},
        )
        from_start = response.headers.get("content-range", "bytes 0-").startswith("bytes 0-")
        if request.method == "GET" and response.status_code in (200, 206) and from_start:
            service.audit_download(actor, found, _client(request))
        return response

    return await _in_one_thread(request, serve)


@router.get(
    "/recordings/{recording_id}/peaks",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}, 304: {"description": "unchanged"}},
)
async def recording_peaks(recording_id: uuid.UUID, request: Request) -> Response:
    """The waveform peaks the pipeline stored (audiowaveform JSON v2, what peaks.js draws)."""

    def serve(session: Session) -> Response:
        found = _service(request, session).playable(get_actor(request, session), recording_id)
        recording = found.recording
        if recording.peaks_key is None:
            raise NotFound("this recording has no waveform peaks")
        etag = f'"peaks-{recording.sha256}"'
        headers = {"ETag": etag, "Cache-Control": "private, max-age=600"}
        modified = Servable.of(recording).modified
        if not_modified(request.headers.get("if-none-match"), None, etag, modified):
            return Response(status_code=304, headers=headers)
        try:
            body = request.app.state.blobs.get_bytes(recording.peaks_key)
        except BlobNotFound:
            raise NotFound("the waveform peaks are missing from storage") from None
        return Response(body, media_type="application/json", headers=headers)

    return await _in_one_thread(request, serve)


# --- serving bytes --------------------------------------------------------------------------


def _presented_user(request: Request, session: Session) -> uuid.UUID | None:
    """The user of any credentials sent with a signed URL (the browser sends its cookie);
    credentials that do not resolve are ignored, since the URL alone suffices."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not (credential and scheme.lower() == "bearer") and not cookie:
        return None
    auth = AuthService(session, request.app.state.clock)
    try:
        if credential and scheme.lower() == "bearer":
            return auth.from_bearer(credential.strip()).user_id
        assert cookie is not None
        return auth.from_session(cookie)[0].user_id
    except CallrecError:
        return None


def _serve(
    request: Request,
    blobs: BlobStore,
    recording: Servable,
    extra: dict[str, str] | None = None,
) -> Response:
    assert recording.sha256 is not None
    etag, modified = etag_for(recording.sha256), recording.modified.replace(microsecond=0)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": http_date(modified),
        "Cache-Control": "private, max-age=600",
        "X-Content-Type-Options": "nosniff",
        # The signed URL must not travel on in a Referer header.
        "Referrer-Policy": "no-referrer",
        **(extra or {}),
    }
    h = request.headers
    if not_modified(h.get("if-none-match"), h.get("if-modified-since"), etag, modified):
        return Response(status_code=304, headers=headers)
    size = recording.size_bytes
    if size is None:
        size = blobs.size(recording.storage_key)
    part = _wanted(h.get("range"), h.get("if-range"), etag, modified, size)
    if part.kind is RangeKind.UNSATISFIABLE:
        headers["Content-Range"] = part.content_range() or ""
        return Response(status_code=416, headers=headers)
    status = 206 if part.kind is RangeKind.PARTIAL else 200
    if part.kind is RangeKind.PARTIAL:
        headers["Content-Range"] = part.content_range() or ""
    headers["Content-Length"] = str(part.length)
    kind = media_type(recording.format)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=kind)
    try:
        stream = blobs.open_range(recording.storage_key, part.start, part.end)
    except BlobNotFound:
        raise NotFound("the recording's audio is missing from storage") from None
    # The first chunk is read here, on the thread already doing this request's work: the first
    # byte then waits for no further thread hop (it is what a seeking listener waits for).
    first = _next_chunk(stream)
    return StreamingResponse(_chunks(stream, first), status, headers=headers, media_type=kind)


def _wanted(
    range_header: str | None, if_range: str | None, etag: str, modified: datetime, size: int
) -> ByteRange:
    if range_header is None or not if_range_holds(if_range, etag, modified):
        return whole(size)  # If-Range failed: the representation changed, send all of it
    return parse_range(range_header, size)


async def _chunks(stream: BlobStream, first: bytes) -> AsyncIterator[bytes]:
    # Reads happen off the event loop; the source is closed even when the client goes away
    # mid-stream (the generator is cancelled and its finally runs).
    try:
        if first:
            yield first
        while first:
            chunk = await to_thread.run_sync(_next_chunk, stream)
            if not chunk:
                return
            yield chunk
    finally:
        stream.close()


def _next_chunk(stream: BlobStream) -> bytes:
    return next(stream, b"")
