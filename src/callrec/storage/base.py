"""The blob-store port: recordings, peaks files and original uploads go through it.

Errors (the whole tree; every adapter raises exactly these for the cases below):

BlobStoreError
├── BlobNotFound(KeyError)       the key holds no object (a prefix of a key is not a key)
└── InvalidBlobKey(ValueError)   the key could never name an object, in any adapter

Backend failures (disk full, S3 credentials, missing bucket) are not translated: they are
operational faults, not answers about a key, and hiding them would hide their cause.

The public methods validate arguments here, once, then call the adapter's ``_``-prefixed hooks,
so the memory fake, the filesystem and S3 accept and refuse exactly the same keys.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Protocol

# Bounded so a playback request never holds more than this per client in memory.
CHUNK_SIZE = 256 * 1024
# S3's limit, in UTF-8 bytes; the other adapters adopt it so keys stay portable between them.
MAX_KEY_BYTES = 1024
# Most filesystems' limit for one path component (NAME_MAX); S3 adopts it for the same reason.
MAX_SEGMENT_BYTES = 255
# Names the filesystem adapter gives in-flight writes; a key may not use them or a crash sweep
# would delete a real object and iter_keys would hide it.
TEMP_PREFIX = ".tmp-"


class BlobStoreError(Exception):
    """Base of the errors a blob store raises about a key."""


class BlobNotFound(BlobStoreError, KeyError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        # KeyError's own __str__ would print repr(args); keep the message readable.
        return f"no blob at key {self.key!r}"


class InvalidBlobKey(BlobStoreError, ValueError):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"invalid blob key {key!r}: {reason}")
        self.key = key
        self.reason = reason


def validate_key(key: str) -> str:
    """Return ``key`` unchanged, or raise InvalidBlobKey saying why it is refused.

    Besides the obvious (empty, absolute, ``..``, backslash, NUL, too long), empty and ``.``
    segments are refused because a filesystem would silently fold ``a//b`` and ``a/./b`` into
    ``a/b`` while S3 keeps them distinct: the same key must name the same object everywhere.
    """
    if not isinstance(key, str) or key == "":
        raise InvalidBlobKey(str(key), "empty or not a string")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: S3 cannot carry them, so no adapter may accept them.
        raise InvalidBlobKey(key, "not encodable as UTF-8") from None
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidBlobKey(key, f"longer than {MAX_KEY_BYTES} bytes")
    if "\x00" in key:
        raise InvalidBlobKey(key, "contains NUL")
    if "\\" in key:
        raise InvalidBlobKey(key, "contains a backslash")
    if key.startswith("/"):
        raise InvalidBlobKey(key, "absolute")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidBlobKey(key, "has an empty, '.' or '..' segment")
        if segment.startswith(TEMP_PREFIX):
            raise InvalidBlobKey(key, f"segments starting with {TEMP_PREFIX!r} are reserved")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidBlobKey(key, f"a segment is longer than {MAX_SEGMENT_BYTES} bytes")
    return key


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class BlobStream(Iterator[bytes]):
    """Chunks of at most CHUNK_SIZE bytes read from an already opened source.

    Adapters open the source before returning one, so a missing key raises when ``open_range``
    is called, before an HTTP response has committed to a status. ``close()`` (or ``with``)
    releases the source early when a client disconnects mid-stream.
    """

    def __init__(self, source: _Readable, length: int | None) -> None:
        self._source: _Readable | None = source
        self._remaining = length

    def __next__(self) -> bytes:
        if self._source is None:
            raise StopIteration
        want = CHUNK_SIZE if self._remaining is None else min(CHUNK_SIZE, self._remaining)
        chunk = self._source.read(want) if want > 0 else b""
        if not chunk:
            self.close()
            raise StopIteration
        if self._remaining is not None:
            self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def __enter__(self) -> BlobStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # An abandoned stream (client went away) must not leak a file or HTTP connection.
        self.close()


class BlobStore(ABC):
    """Where recordings live. Keys look like ``recordings/<org>/<id>/audio.mp3``.

    Writes are atomic: a reader sees the old object whole or the new one whole, never a part.
    Missing keys raise BlobNotFound; refused keys raise InvalidBlobKey in every method.
    """

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key``, replacing any object there whole."""
        self._put_file(validate_key(key), path)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._put_bytes(validate_key(key), data)

    def get_bytes(self, key: str) -> bytes:
        """The whole object in memory: for small blobs (peaks, metadata) only."""
        return self._get_bytes(validate_key(key))

    def open_range(self, key: str, start: int, end: int | None) -> BlobStream:
        """Stream bytes ``[start, end)``; ``end=None`` means to the end of the object.

        A range reaching past the end is cut at the end (an HTTP layer decides about 416);
        ``start == end`` is empty. BlobNotFound is raised by this call, not on iteration.
        """
        validate_key(key)
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid range [{start}, {end})")
        return self._open_range(key, start, end)

    def size(self, key: str) -> int:
        return self._size(validate_key(key))

    def exists(self, key: str) -> bool:
        return self._exists(validate_key(key))

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error (retried jobs rely on it)."""
        self._delete(validate_key(key))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix`` (a plain string prefix, as in S3), in sorted order.

        The prefix is not validated: ``"recordings/"`` is a useful prefix but not a valid key.
        """
        return self._iter_keys(prefix)

    def sha256(self, key: str) -> str:
        """Hex SHA-256 of the object, streamed so a 4-hour recording never sits in memory."""
        digest = hashlib.sha256()
        with self.open_range(key, 0, None) as chunks:
            for chunk in chunks:
                digest.update(chunk)
        return digest.hexdigest()

    def download_to(self, key: str, path: Path) -> None:
        """Stream the object into ``path``, which is replaced only once the copy is complete."""
        validate_key(key)
        self._download_to(key, path)

    # Hooks: ``key`` is already valid and the range already checked.

    @abstractmethod
    def _put_file(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def _put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def _get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def _open_range(self, key: str, start: int, end: int | None) -> BlobStream: ...

    @abstractmethod
    def _size(self, key: str) -> int: ...

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _delete(self, key: str) -> None: ...

    @abstractmethod
    def _iter_keys(self, prefix: str) -> Iterator[str]: ...

    def _download_to(self, key: str, path: Path) -> None:
        # Open first: a missing key must not leave an empty file behind.
        with self.open_range(key, 0, None) as chunks:
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in chunks:
                        out.write(chunk)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
