"""The stream endpoint over each real blob store (memory fake, filesystem, S3 on moto): Range
answers carry exactly the stored bytes, and a range deep in a large file is read without
reading the file."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from callrec.app import create_app
from callrec.kit.clock import FakeClock
from callrec.kit.settings import Settings
from callrec.models import Recording
from callrec.storage import BlobStore, FilesystemBlobStore
from callrec.worker.queue import MemoryQueue
from callrec.worker.runtime import Runtime, set_runtime
from tests.directory.factories import World, bearer
from tests.recordings.playback_world import add_call, add_recording

SIZE = 3 * 1024 * 1024 + 12_345  # more than a dozen chunks, not a multiple of one


def _client(
    settings: Settings, factory: sessionmaker[Session], store: BlobStore, clock: FakeClock,
    queue: MemoryQueue,
) -> Iterator[TestClient]:  # fmt: skip
    runtime = Runtime(settings, factory, store, clock, queue)
    set_runtime(runtime)
    try:
        with TestClient(create_app(settings, runtime)) as client:
            yield client
    finally:
        set_runtime(None)


@pytest.fixture
def store_client(
    store: BlobStore, settings: Settings, session_factory: sessionmaker[Session],
    clock: FakeClock, queue: MemoryQueue,
) -> Iterator[TestClient]:  # fmt: skip
    yield from _client(settings, session_factory, store, clock, queue)


def _signed_url(client: TestClient, session: Session, clock: FakeClock, world: World,
                recording: Recording) -> str:  # fmt: skip
    headers = bearer(session, clock, world.users["alice"])
    session.commit()
    r = client.post(f"/api/v1/recordings/{recording.id}/playback", headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["url"])


def test_ranges_over_every_store_carry_exactly_the_stored_bytes(
    store: BlobStore, store_client: TestClient, session: Session, clock: FakeClock,
    world: World,
) -> None:  # fmt: skip
    audio = os.urandom(SIZE)
    call = add_call(session, world.org.id, "stores", world.users["alice"])
    recording = add_recording(session, store, clock, call, audio=audio)
    session.commit()
    url = _signed_url(store_client, session, clock, world, recording)
    middle = SIZE // 2
    for header, expected in [
        ("bytes=0-99", audio[:100]),
        (f"bytes={middle}-{middle + 300_000}", audio[middle : middle + 300_001]),
        ("bytes=-1000", audio[-1000:]),
        (f"bytes={SIZE - 700_000}-", audio[SIZE - 700_000 :]),
    ]:
        r = store_client.get(url, headers={"Range": header})
        assert r.status_code == 206, (header, r.text)
        assert r.content == expected, header
    whole = store_client.get(url)
    assert (whole.status_code, whole.content) == (200, audio)
    beyond = store_client.get(url, headers={"Range": f"bytes={SIZE}-"})
    assert (beyond.status_code, beyond.headers["content-range"]) == (416, f"bytes */{SIZE}")


def test_a_range_near_the_end_of_a_large_file_reads_only_that_range(
    tmp_path: Path, settings: Settings, session_factory: sessionmaker[Session],
    session: Session, clock: FakeClock, queue: MemoryQueue, world: World,
) -> None:  # fmt: skip
    store = FilesystemBlobStore(tmp_path / "blobs")
    call = add_call(session, world.org.id, "big", world.users["alice"])
    recording = add_recording(session, store, clock, call, audio=b"placeholder")
    # Replace the blob by a 512 MB sparse file with a marker near its end: reading the file
    # whole would show in memory at once.
    big = 512 * 1024 * 1024
    path = tmp_path / "blobs" / Path(*str(recording.storage_key).split("/"))
    with path.open("r+b") as f:
        f.truncate(big)
        f.seek(big - 4096)
        f.write(b"MARK" * 1024)
    recording.size_bytes = big
    session.commit()
    for client in _client(settings, session_factory, store, clock, queue):
        url = _signed_url(client, session, clock, world, recording)
        tracemalloc.start()
        try:
            r = client.get(url, headers={"Range": f"bytes={big - 4096}-{big - 4093}"})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (r.status_code, r.content) == (206, b"MARK")
        assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while serving 4 bytes of 512 MB"
