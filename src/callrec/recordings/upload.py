"""Streaming an upload to disk (never whole in memory), hashing it on the way, and storing the
original in the blob store under a content-addressed key (a repeat upload is the same key)."""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from anyio import to_thread

from callrec.kit.errors import CallrecError
from callrec.recordings.service import Source
from callrec.recordings.sniff import ACCEPTED, SourceFormat, sniff
from callrec.storage import BlobStore


class PayloadTooLarge(CallrecError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(CallrecError):
    status_code = 415
    code = "unsupported_media_type"


@dataclass(frozen=True, slots=True)
class Spooled:
    path: Path
    sha256: str
    size: int
    format: SourceFormat


async def spool(chunks: AsyncIterator[bytes], directory: Path, limit: int) -> Spooled:
    """Write the body to a temp file, refusing it past ``limit`` bytes or when it is not one of
    the accepted formats. The caller deletes the file."""
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    handle = tempfile.NamedTemporaryFile(dir=directory, prefix=".upload-", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        with handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"upload exceeds the {limit}-byte limit", details={"limit_bytes": limit}
                    )
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                digest.update(chunk)
                await to_thread.run_sync(handle.write, chunk)
        fmt = sniff(head)
        if size == 0 or fmt is None:
            raise UnsupportedMediaType(
                f"not a supported audio file; accepted: {ACCEPTED}", details={"accepted": ACCEPTED}
            )
        return Spooled(path, digest.hexdigest(), size, fmt)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def store_source(
    blobs: BlobStore, org_id: uuid.UUID, call_id: uuid.UUID, sequence: int, spooled: Spooled
) -> Source:
    key = f"sources/{org_id}/{call_id}/{sequence}/{spooled.sha256}.{spooled.format.value}"
    if not blobs.exists(key):
        blobs.put_file(key, spooled.path)
    return Source(format=spooled.format.value, key=key, sha256=spooled.sha256)
