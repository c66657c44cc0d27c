"""What only the filesystem adapter has: on-disk layout, atomic replace, crash leftovers."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from callrec.kit.clock import FakeClock
from callrec.storage import FilesystemBlobStore
from callrec.storage.filesystem import COPY_BUFFER

KEY = "recordings/org1/c1/audio.mp3"
T = TypeVar("T")


def _until(probe: Callable[[], T | None], timeout_s: float = 10.0) -> T:
    """Poll a condition another thread brings about; only the waiting is timed, not the test."""
    deadline = time.monotonic() + timeout_s
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)
    return found


def _temps(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob(".tmp-*"))


def test_a_key_is_the_file_at_that_path_under_root(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    store.put_bytes(KEY, b"abc")
    assert (tmp_path / "recordings" / "org1" / "c1" / "audio.mp3").read_bytes() == b"abc"
    assert _temps(tmp_path) == []


def test_a_missing_root_is_an_empty_store_made_on_first_write(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "not" / "yet")
    assert list(store.iter_keys()) == []
    assert not store.exists(KEY)
    store.put_bytes(KEY, b"abc")
    assert list(store.iter_keys()) == [KEY]


def test_a_reader_never_sees_a_partial_object(tmp_path: Path) -> None:
    # The source is a FIFO the test feeds by hand, so put_file is held mid-copy for as long
    # as the test wants, with part of the new object already written to disk.
    store = FilesystemBlobStore(tmp_path / "blobs")
    old, new = b"old recording" * 100, bytes(range(256)) * (3 * COPY_BUFFER // 256)
    store.put_bytes(KEY, old)
    fifo = tmp_path / "source.fifo"
    os.mkfifo(fifo)
    failures: list[BaseException] = []

    def upload() -> None:
        try:
            store.put_file(KEY, fifo)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    writer = threading.Thread(target=upload)
    writer.start()
    feed = os.fdopen(_until(lambda: _open_writer(fifo)), "wb")
    try:
        feed.write(new[: COPY_BUFFER + COPY_BUFFER // 2])
        feed.flush()
        directory = tmp_path / "blobs" / "recordings" / "org1" / "c1"
        temp = _until(lambda: next(iter(_temps(directory)), None))
        _until(lambda: True if temp.stat().st_size >= COPY_BUFFER else None)
        # A megabyte of the new object is on disk, beside the target (same filesystem, so
        # os.replace is atomic), yet every reader still sees the old object whole.
        assert temp.parent == directory
        assert store.get_bytes(KEY) == old
        assert store.size(KEY) == len(old)
        assert list(store.iter_keys()) == [KEY]
        feed.write(new[COPY_BUFFER + COPY_BUFFER // 2 :])
    finally:
        feed.close()
        writer.join(timeout=30)
    assert failures == []
    assert store.get_bytes(KEY) == new
    assert _temps(tmp_path) == []


def _open_writer(fifo: Path) -> int | None:
    # Non-blocking so a put_file that never opens the FIFO fails the test instead of hanging it.
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader yet
            return None
        raise
    os.set_blocking(fd, True)
    return fd


def test_a_failed_write_keeps_the_old_object_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FilesystemBlobStore(tmp_path)
    store.put_bytes(KEY, b"old")

    def disk_failure(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", disk_failure)
    with pytest.raises(OSError, match="I/O error"):
        store.put_bytes(KEY, b"new")
    monkeypatch.undo()
    assert store.get_bytes(KEY) == b"old"
    assert _temps(tmp_path) == []


def test_crash_leftovers_are_invisible_and_swept_once_old(tmp_path: Path) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    store = FilesystemBlobStore(tmp_path, clock=FakeClock(now))
    store.put_bytes(KEY, b"kept")
    leftovers = {
        tmp_path / "recordings" / "org1" / "c1" / ".tmp-crashed": 3600.0,
        tmp_path / ".tmp-at-root": 700.0,
        tmp_path / "recordings" / "org1" / ".tmp-in-flight": 10.0,  # a live writer's, maybe
    }
    for path, age_s in leftovers.items():
        path.write_bytes(b"partial")
        os.utime(path, (now.timestamp() - age_s, now.timestamp() - age_s))
    assert list(store.iter_keys()) == [KEY]
    assert store.sweep_temp(older_than_s=600) == 2
    assert _temps(tmp_path) == [tmp_path / "recordings" / "org1" / ".tmp-in-flight"]
    assert store.get_bytes(KEY) == b"kept"
    assert store.sweep_temp(older_than_s=600) == 0


def test_a_key_under_another_key_is_a_filesystem_limit(tmp_path: Path) -> None:
    # Documented difference from S3: "a/b" and "a/b/c" cannot both be files.
    store = FilesystemBlobStore(tmp_path)
    store.put_bytes("a/b", b"1")
    with pytest.raises(FileExistsError):
        store.put_bytes("a/b/c", b"2")
    assert list(store.iter_keys()) == ["a/b"]
    assert _temps(tmp_path) == []
