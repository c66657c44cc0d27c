"""Bulk import of recordings made elsewhere (``callrec import``): each file becomes a call with
one segment. Importing the same file twice finds the same call and recording."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from callrec.calls.schemas import CallCreate, SegmentIn
from callrec.calls.service import CallService
from callrec.kit.db import session_scope
from callrec.models import CallDirection, Recording
from callrec.recordings.processing import file_sha256
from callrec.recordings.service import RecordingService
from callrec.recordings.sniff import ACCEPTED, SourceFormat, sniff
from callrec.recordings.upload import Spooled, UnsupportedMediaType, store_source
from callrec.worker.runtime import Runtime


def describe(path: Path) -> Spooled:
    with path.open("rb") as handle:
        fmt = sniff(handle.read(16))
    if fmt is None:
        raise UnsupportedMediaType(f"{path.name}: not a supported audio file; accepted: {ACCEPTED}")
    return Spooled(path, file_sha256(path), path.stat().st_size, fmt)


def import_file(
    rt: Runtime,
    org_id: uuid.UUID,
    path: Path,
    *,
    extension: str | None = None,
    direction: CallDirection = CallDirection.INBOUND,
    duration_s: float | None = None,
) -> Recording:
    spooled = describe(path)
    started = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    ended = started + timedelta(seconds=duration_s) if duration_s is not None else None
    with session_scope(rt.sessionmaker) as session:
        call, _ = CallService(session).create(
            None,
            org_id,
            CallCreate(
                external_id=f"import:{spooled.sha256}",
                direction=direction,
                started_at=started,
                ended_at=ended,
                segments=[
                    SegmentIn(sequence=1, extension=extension, started_at=started, ended_at=ended)
                ],
            ),
        )
        source = store_source(rt.blobs, org_id, call.id, 1, spooled)
        recording, _ = RecordingService(session, rt.clock, rt.settings).attach_source(
            None, org_id, call.id, 1, source
        )
        return recording


__all__ = ["SourceFormat", "describe", "import_file"]
