"""Blobs in an S3-compatible bucket (``s3://bucket/prefix``): AWS, MinIO, Ceph, Garage…

The only module importing boto3, imported lazily by ``open_blob_store`` so the embedded
default runs without it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from callrec.storage.base import MAX_KEY_BYTES, BlobNotFound, BlobStore, BlobStream, InvalidBlobKey

# Pinned rather than left to boto3's defaults, which have changed between releases: above this
# size upload_file goes multipart, and S3 only makes a multipart object visible once complete.
_MIB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=8 * _MIB, multipart_chunksize=8 * _MIB)
# "404"/"NotFound" come from HEAD, which has no body to carry "NoSuchKey". "NoSuchBucket" is
# left out on purpose: a missing bucket is a configuration fault, not a missing blob.
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def make_client(endpoint_url: str | None, region: str) -> Any:
    """An S3 client with credentials from the standard chain (env vars, profile, role)."""
    # Path-style URLs: S3-compatible servers on an IP or a single hostname have no
    # per-bucket DNS names for virtual-hosted style.
    config = Config(
        retries={"mode": "standard"},
        s3={"addressing_style": "path"} if endpoint_url else {},
    )
    # A session per store: boto3's shared default session is not thread-safe to create from.
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


class S3BlobStore(BlobStore):
    """Key ``a/b.mp3`` is the object ``<prefix>/a/b.mp3`` in ``bucket``.

    ``client`` is for tests and callers sharing a configured client; by default one is made
    from ``endpoint_url`` and ``region``.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3BlobStore needs a bucket name")
        self.bucket = bucket
        # "recs", "/recs/" and "recs/" all mean the folder "recs/": keys never start with '/'.
        stripped = prefix.strip("/")
        self.prefix = f"{stripped}/" if stripped else ""
        self._client: Any = client if client is not None else make_client(endpoint_url, region)

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _object_key(self, key: str) -> str:
        full = self.prefix + key
        if len(full.encode("utf-8")) > MAX_KEY_BYTES:
            # S3's own limit counts the prefix; say so now rather than as a KeyTooLongError.
            raise InvalidBlobKey(
                key, f"longer than {MAX_KEY_BYTES} bytes with prefix {self.prefix!r}"
            )
        return full

    def _translate(self, exc: ClientError, key: str) -> Exception:
        return BlobNotFound(key) if _error_code(exc) in _MISSING else exc

    def _put_file(self, key: str, path: Path) -> None:
        # Open once first so a missing or unreadable source fails with the same OSError as in
        # the other adapters, before any request; upload_file reopens it per part.
        with path.open("rb"):
            pass
        self._client.upload_file(str(path), self.bucket, self._object_key(key), Config=TRANSFER)

    def _put_bytes(self, key: str, data: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data)

    def _get_bytes(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            raise self._translate(exc, key) from None
        body = response["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def _open_range(self, key: str, start: int, end: int | None) -> BlobStream:
        if end == start:
            # HTTP cannot ask for zero bytes; still answer BlobNotFound for a missing key.
            self._size(key)
            return BlobStream(io.BytesIO(b""), 0)
        extra: dict[str, str] = {}
        if start or end is not None:
            # HTTP ranges are inclusive; ours are half-open.
            extra["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            response = self._client.get_object(
                Bucket=self.bucket, Key=self._object_key(key), **extra
            )
        except ClientError as exc:
            if _error_code(exc) == "InvalidRange":
                # Only an existing object answers 416: the range starts at or past its end.
                return BlobStream(io.BytesIO(b""), 0)
            raise self._translate(exc, key) from None
        return BlobStream(response["Body"], None if end is None else end - start)

    def _head(self, key: str) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self._client.head_object(
                Bucket=self.bucket, Key=self._object_key(key)
            )
        except ClientError as exc:
            raise self._translate(exc, key) from None
        return response

    def _size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def _exists(self, key: str) -> bool:
        try:
            self._head(key)
        except BlobNotFound:
            return False
        return True

    def _delete(self, key: str) -> None:
        # S3's DeleteObject already succeeds on a missing key.
        self._client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        # ListObjectsV2 returns keys in UTF-8 byte order, which is Python's str order.
        paginator = self._client.get_paginator("list_objects_v2")
        cut = len(self.prefix)
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield str(item["Key"])[cut:]

    def _download_to(self, key: str, path: Path) -> None:
        # download_file fetches large objects in parallel ranged parts and writes to a temp
        # name it renames into place, so ``path`` is never left half-written.
        try:
            self._client.download_file(
                self.bucket, self._object_key(key), str(path), Config=TRANSFER
            )
        except ClientError as exc:
            raise self._translate(exc, key) from None
