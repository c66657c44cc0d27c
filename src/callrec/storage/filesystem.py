"""Blobs as files under one root directory (``file:///…``): the embedded default."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from callrec.kit.clock import Clock, SystemClock
from callrec.storage.base import TEMP_PREFIX, BlobNotFound, BlobStore, BlobStream

# Bigger than a chunk served to clients: copying a 4-hour recording is throughput-bound.
COPY_BUFFER = 1024 * 1024


@contextlib.contextmanager
def _not_found_as(key: str) -> Iterator[None]:
    # A directory is a prefix of other keys, not a key; a file where a directory is expected
    # means the key's parent is itself a key. Neither names this object, as in S3.
    try:
        yield
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise BlobNotFound(key) from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and missing ancestors; return those that were missing."""
    missing: list[Path] = []
    while not directory.is_dir() and directory.parent != directory:
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        # exist_ok: a concurrent writer may make the same directory first.
        path.mkdir(exist_ok=True)
    return missing


class FilesystemBlobStore(BlobStore):
    """Key ``a/b/c.mp3`` is the file ``root/a/b/c.mp3``.

    Writes go to a ``.tmp-*`` file in the target's directory (same filesystem, so the rename
    is atomic), are fsynced, then ``os.replace``d over the target, and the directory is fsynced
    so the rename survives a power cut. A crash leaves only a temp file, which ``iter_keys``
    ignores and ``sweep_temp`` removes.

    Unlike S3, a filesystem cannot hold both ``a/b`` and ``a/b/c``: writing the second raises
    the OSError the filesystem gives. Real keys (``recordings/<org>/<id>/<name>``) never do.
    """

    def __init__(self, root: Path, *, clock: Clock | None = None) -> None:
        self.root = Path(root)
        # Only sweep_temp reads the time; injected so tests can age temp files exactly.
        self._clock: Clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    def sweep_temp(self, older_than_s: float) -> int:
        """Remove temp files older than ``older_than_s`` (crash leftovers); return how many.

        Younger ones may belong to a write in progress in another process, so they stay.
        """
        cutoff = self._clock.now().timestamp() - older_than_s
        removed = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if not name.startswith(TEMP_PREFIX):
                    continue
                path = Path(dirpath, name)
                # Missing: the writer finished or another sweeper got there first.
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
        return removed

    def _path(self, key: str) -> Path:
        # The key was validated (no '..', not absolute): the path stays under root.
        return self.root.joinpath(*key.split("/"))

    def _put_file(self, key: str, path: Path) -> None:
        # Open the source first: a missing source must not leave a temp file behind.
        with path.open("rb") as src:
            self._write_atomic(key, lambda out: shutil.copyfileobj(src, out, COPY_BUFFER))

    def _put_bytes(self, key: str, data: bytes) -> None:
        self._write_atomic(key, lambda out: out.write(data))

    def _write_atomic(self, key: str, write: Callable[[BinaryIO], object]) -> None:
        target = self._path(key)
        made = _make_dirs(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        # The new name is durable once its directory is; a new directory once its parent is.
        for directory in [target.parent, *(d.parent for d in made)]:
            _fsync_dir(directory)

    def _get_bytes(self, key: str) -> bytes:
        with _not_found_as(key):
            return self._path(key).read_bytes()

    def _open_range(self, key: str, start: int, end: int | None) -> BlobStream:
        # Opened now, so the stream reads one version even if the key is replaced meanwhile.
        with _not_found_as(key):
            source = self._path(key).open("rb")
        source.seek(start)
        return BlobStream(source, None if end is None else end - start)

    def _size(self, key: str) -> int:
        with _not_found_as(key):
            st = self._path(key).stat()
        if not stat.S_ISREG(st.st_mode):
            raise BlobNotFound(key)
        return st.st_size

    def _exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return
        # An erased recording must stay erased after a power cut.
        _fsync_dir(path.parent)

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        return self._walk(self.root, "", prefix)

    def _walk(self, directory: Path, base: str, prefix: str) -> Iterator[str]:
        # Sorting each directory's entries by name, with '/' appended to directories, and
        # walking depth-first yields keys in global string order without holding them all.
        try:
            with os.scandir(directory) as scan:
                entries = [
                    (entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name, entry)
                    for entry in scan
                    if not entry.name.startswith(TEMP_PREFIX)
                ]
        except (FileNotFoundError, NotADirectoryError):
            return  # root not made yet, or the directory went away while walking
        for name, entry in sorted(entries, key=lambda pair: pair[0]):
            rel = base + name
            if name.endswith("/"):
                # Only descend where keys with this prefix can be.
                if rel.startswith(prefix) or prefix.startswith(rel):
                    yield from self._walk(Path(entry.path), rel, prefix)
            elif rel.startswith(prefix) and entry.is_file():
                yield rel
