"""Blob stores: where recordings, peaks files and original uploads are kept.

``open_blob_store(CALLREC_STORAGE_URL)`` picks the adapter. ``S3BlobStore`` is loaded on first
use so that the filesystem default does not need boto3 installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from callrec.storage.base import BlobNotFound, BlobStore, BlobStoreError, BlobStream, InvalidBlobKey
from callrec.storage.filesystem import FilesystemBlobStore
from callrec.storage.memory import MemoryBlobStore

if TYPE_CHECKING:
    from callrec.storage.s3 import S3BlobStore

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "BlobStoreError",
    "BlobStream",
    "FilesystemBlobStore",
    "InvalidBlobKey",
    "MemoryBlobStore",
    "S3BlobStore",
    "open_blob_store",
]

ACCEPTED = "file:///absolute/path, s3://bucket[/prefix][?endpoint=URL&region=NAME], memory://"
_S3_PARAMS = frozenset({"endpoint", "region"})


def __getattr__(name: str) -> Any:
    if name == "S3BlobStore":
        from callrec.storage.s3 import S3BlobStore

        return S3BlobStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _refuse(url: str, why: str) -> ValueError:
    return ValueError(f"storage URL {url!r}: {why}; accepted: {ACCEPTED}")


def open_blob_store(url: str) -> BlobStore:
    """The store a storage URL names (``file:``, ``s3:`` or ``memory:``); ValueError otherwise.

    S3 credentials come from boto3's standard chain (``AWS_ACCESS_KEY_ID``… or a profile or
    role), never from the URL, so the URL can be logged. ``memory://`` is a new empty store on
    every call.
    """
    parts = urlsplit(url)
    if parts.fragment:
        raise _refuse(url, "a fragment means nothing here")
    if parts.scheme == "file":
        return _filesystem(url, parts.netloc, parts.path, parts.query)
    if parts.scheme == "s3":
        return _s3(url, parts.netloc, parts.path, parts.query)
    if parts.scheme == "memory":
        if parts.netloc or parts.path or parts.query:
            raise _refuse(url, "memory:// takes no location or parameters")
        return MemoryBlobStore()
    raise _refuse(url, f"unknown scheme {parts.scheme!r}" if parts.scheme else "no scheme")


def _filesystem(url: str, host: str, path: str, query: str) -> FilesystemBlobStore:
    if host not in ("", "localhost"):
        raise _refuse(url, f"file URLs cannot name another host ({host!r})")
    if query:
        raise _refuse(url, "file URLs take no parameters")
    root = Path(unquote(path))
    if not root.is_absolute():
        # A relative root would move with the working directory of each process.
        raise _refuse(url, "the path must be absolute (file:///…)")
    return FilesystemBlobStore(root)


def _s3(url: str, bucket: str, path: str, query: str) -> BlobStore:
    if not bucket:
        raise _refuse(url, "no bucket")
    params = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    unknown = set(params) - _S3_PARAMS
    if unknown:
        raise _refuse(url, f"unknown parameters {sorted(unknown)}")
    if any(len(values) != 1 or not values[0] for values in params.values()):
        raise _refuse(url, "each parameter once, with a value")
    endpoint = params.get("endpoint", [None])[0]
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise _refuse(url, f"endpoint must be an http(s) URL, not {endpoint!r}")
    from callrec.storage.s3 import S3BlobStore

    return S3BlobStore(
        bucket,
        unquote(path),
        endpoint_url=endpoint,
        region=params.get("region", ["us-east-1"])[0],
    )
