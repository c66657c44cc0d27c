"""The in-memory fake of the blob-store port, for fast unit tests (``memory://``)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

from callrec.storage.base import BlobNotFound, BlobStore, BlobStream


class MemoryBlobStore(BlobStore):
    """Objects in a dict. Writes swap whole ``bytes`` objects, so they are atomic too."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        # Workers and the API share one store in tests that run both on threads.
        self._lock = threading.Lock()

    def _put_file(self, key: str, path: Path) -> None:
        # Read fully before taking the lock: readers keep seeing the old object meanwhile.
        self._put_bytes(key, path.read_bytes())

    def _put_bytes(self, key: str, data: bytes) -> None:
        with self._lock:
            self._blobs[key] = bytes(data)

    def _get_bytes(self, key: str) -> bytes:
        with self._lock:
            try:
                return self._blobs[key]
            except KeyError:
                raise BlobNotFound(key) from None

    def _open_range(self, key: str, start: int, end: int | None) -> BlobStream:
        data = self._get_bytes(key)
        return BlobStream(io.BytesIO(data[start:end]), None)

    def _size(self, key: str) -> int:
        return len(self._get_bytes(key))

    def _exists(self, key: str) -> bool:
        with self._lock:
            return key in self._blobs

    def _delete(self, key: str) -> None:
        with self._lock:
            self._blobs.pop(key, None)

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        # A snapshot: callers may delete while iterating (retention sweeps do).
        with self._lock:
            keys = sorted(k for k in self._blobs if k.startswith(prefix))
        return iter(keys)
