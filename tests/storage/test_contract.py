"""The blob-store contract: every adapter (memory, filesystem, S3 on moto) passes all of it."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from callrec.storage import BlobNotFound, BlobStore, InvalidBlobKey
from callrec.storage.base import CHUNK_SIZE

KEY = "recordings/org1/c1/audio.mp3"
DATA = bytes(range(256)) * 4  # 1 KiB, every byte value, so an off-by-one shows
# Above the 8 MiB multipart threshold pinned in storage/s3.py, so S3 takes the multipart path.
BIG = 12 * 1024 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "call.wav"
    path.write_bytes(random.Random(7).randbytes(BIG))
    return path


def _read(store: BlobStore, key: str, start: int, end: int | None) -> bytes:
    with store.open_range(key, start, end) as chunks:
        return b"".join(chunks)


@pytest.mark.parametrize(
    "key",
    [
        KEY,
        "a",
        "uploads/org 1/c+1/greeting (final).mp3",
        "recordings/ünïcødé/ça.mp3",
        "percent/%41%2F/x",
        "/".join(["k" * 200] * 4),  # long, leaving room for the S3 test prefix
    ],
    ids=["typical", "one-segment", "spaces-plus-parens", "unicode", "percent", "long"],
)
def test_bytes_round_trip(store: BlobStore, key: str) -> None:
    store.put_bytes(key, DATA)
    assert store.get_bytes(key) == DATA
    assert store.size(key) == len(DATA)
    assert store.exists(key)
    assert list(store.iter_keys()) == [key]


def test_large_file_round_trip(store: BlobStore, big_file: Path, tmp_path: Path) -> None:
    store.put_file(KEY, big_file)
    expected = big_file.read_bytes()
    assert store.size(KEY) == BIG
    assert store.sha256(KEY) == hashlib.sha256(expected).hexdigest()
    out = tmp_path / "downloaded.wav"
    store.download_to(KEY, out)
    assert out.read_bytes() == expected
    # A range straddling the 8 MiB part boundary and several stream chunks.
    start, end = 8 * 1024 * 1024 - 1000, 8 * 1024 * 1024 + 3 * CHUNK_SIZE
    assert _read(store, KEY, start, end) == expected[start:end]


def test_empty_blob_is_a_blob(store: BlobStore, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    store.put_file(KEY, empty)
    assert store.exists(KEY)
    assert store.size(KEY) == 0
    assert store.get_bytes(KEY) == b""
    assert _read(store, KEY, 0, None) == b""
    assert _read(store, KEY, 5, None) == b""
    assert store.sha256(KEY) == hashlib.sha256(b"").hexdigest()
    assert list(store.iter_keys()) == [KEY]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, None),
        (100, None),
        (100, 200),
        (0, 1),
        (1023, None),
        (1000, 5000),
        (1024, None),
        (5000, None),
        (5000, 6000),
        (0, 0),
        (100, 100),
        (1024, 1024),
    ],
    ids=[
        "whole",
        "start-only",
        "start-end",
        "first-byte",
        "last-byte",
        "end-past-size",
        "start-at-size",
        "start-past-size",
        "both-past-size",
        "empty-at-0",
        "empty-inside",
        "empty-at-size",
    ],
)
def test_ranges_are_half_open_and_cut_at_the_end(
    store: BlobStore, start: int, end: int | None
) -> None:
    store.put_bytes(KEY, DATA)
    assert _read(store, KEY, start, end) == DATA[start:end]


def test_ranges_stream_in_bounded_chunks(store: BlobStore) -> None:
    data = random.Random(1).randbytes(3 * CHUNK_SIZE + 17)
    store.put_bytes(KEY, data)
    with store.open_range(KEY, 5, None) as stream:
        chunks = list(stream)
    assert len(chunks) >= 4
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)
    assert b"".join(chunks) == data[5:]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (-1, 5), (10, 5)])
def test_inverted_or_negative_ranges_are_refused(
    store: BlobStore, start: int, end: int | None
) -> None:
    store.put_bytes(KEY, DATA)
    with pytest.raises(ValueError, match="invalid range"):
        store.open_range(KEY, start, end)


def test_put_bytes_replaces_a_key_whole(store: BlobStore) -> None:
    store.put_bytes(KEY, b"x" * 5000)
    store.put_bytes(KEY, b"short")
    assert store.get_bytes(KEY) == b"short"
    assert store.size(KEY) == 5
    assert list(store.iter_keys()) == [KEY]


def test_put_file_replaces_a_key_whole(store: BlobStore, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"y" * 70_000)
    second.write_bytes(b"replacement")
    store.put_file(KEY, first)
    store.put_file(KEY, second)
    assert store.get_bytes(KEY) == b"replacement"
    assert store.sha256(KEY) == hashlib.sha256(b"replacement").hexdigest()


def test_put_file_of_a_missing_source_fails_and_keeps_the_object(
    store: BlobStore, tmp_path: Path
) -> None:
    store.put_bytes(KEY, DATA)
    with pytest.raises(FileNotFoundError):
        store.put_file(KEY, tmp_path / "no-such-file")
    assert store.get_bytes(KEY) == DATA


def test_delete_is_idempotent_and_touches_only_its_key(store: BlobStore) -> None:
    other = "recordings/org1/c1/peaks.json"
    store.put_bytes(KEY, DATA)
    store.put_bytes(other, b"[]")
    store.delete(KEY)
    assert not store.exists(KEY)
    with pytest.raises(BlobNotFound):
        store.get_bytes(KEY)
    store.delete(KEY)
    store.delete("recordings/never/was.mp3")
    assert list(store.iter_keys()) == [other]


def test_iter_keys_is_sorted_and_filters_by_string_prefix(store: BlobStore) -> None:
    # '-' < '.' < '/' < '0': a naive directory walk would list "org1/…" before "org1-old…".
    keys = [
        "recordings/org1/c1/audio.mp3",
        "recordings/org10/c3/audio.mp3",
        "recordings/org1-old/c9/audio.mp3",
        "recordings/org1.json",
        "recordings/org1/c1/peaks.json",
        "recordings/org1/c2/audio.mp3",
        "uploads/org1/u1/original.wav",
    ]
    for key in keys:
        store.put_bytes(key, key.encode())
    assert list(store.iter_keys()) == sorted(keys)
    assert list(store.iter_keys("recordings/org1")) == sorted(keys[:6])
    assert list(store.iter_keys("recordings/org1/")) == sorted(
        ["recordings/org1/c1/audio.mp3", "recordings/org1/c1/peaks.json",
         "recordings/org1/c2/audio.mp3"]
    )  # fmt: skip
    assert list(store.iter_keys("recordings/org1/c1/")) == sorted(keys[0:5:4])
    assert list(store.iter_keys("recordings/org1/c1/audio.mp3")) == [keys[0]]
    assert list(store.iter_keys("uploads")) == [keys[6]]
    assert list(store.iter_keys("nothing/")) == []
    assert list(store.iter_keys("../")) == []


def test_sha256_equals_hashlib(store: BlobStore) -> None:
    data = random.Random(2).randbytes(CHUNK_SIZE * 2 + 3)
    store.put_bytes(KEY, data)
    assert store.sha256(KEY) == hashlib.sha256(data).hexdigest()


def test_download_to_replaces_the_destination(store: BlobStore, tmp_path: Path) -> None:
    out = tmp_path / "out.mp3"
    out.write_bytes(b"a much longer previous content " * 100)
    store.put_bytes(KEY, DATA)
    store.download_to(KEY, out)
    assert out.read_bytes() == DATA
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == ["out.mp3"]


MISSING: dict[str, Callable[[BlobStore, str, Path], object]] = {
    "get_bytes": lambda s, k, _: s.get_bytes(k),
    "open_range": lambda s, k, _: s.open_range(k, 0, None),  # raises before any iteration
    "open_range_empty": lambda s, k, _: s.open_range(k, 0, 0),
    "open_range_tail": lambda s, k, _: s.open_range(k, 10, None),
    "size": lambda s, k, _: s.size(k),
    "sha256": lambda s, k, _: s.sha256(k),
    "download_to": lambda s, k, p: s.download_to(k, p / "out"),
}


@pytest.mark.parametrize("call", MISSING.values(), ids=MISSING.keys())
def test_a_missing_key_raises_blob_not_found(
    store: BlobStore, tmp_path: Path, call: Callable[[BlobStore, str, Path], object]
) -> None:
    with pytest.raises(BlobNotFound) as caught:
        call(store, KEY, tmp_path)
    assert isinstance(caught.value, KeyError)
    assert caught.value.key == KEY
    assert KEY in str(caught.value)
    assert not store.exists(KEY)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "key",
    ["recordings/org1", "recordings/org1/c1", f"{KEY}/below"],
    ids=["prefix", "parent", "below-a-key"],
)
def test_only_objects_are_keys(store: BlobStore, key: str) -> None:
    # On a filesystem these are directories or paths through a file; in S3 they are nothing.
    store.put_bytes(KEY, DATA)
    assert not store.exists(key)
    for call in (store.get_bytes, store.size, lambda k: store.open_range(k, 0, None)):
        with pytest.raises(BlobNotFound):
            call(key)
    store.delete(key)
    assert store.get_bytes(KEY) == DATA


BAD_KEYS = {
    "empty": "",
    "absolute": "/recordings/a.mp3",
    "dotdot": "recordings/../etc/passwd",
    "dotdot-only": "..",
    "dotdot-leading": "../a",
    "dot": "recordings/./a.mp3",
    "empty-segment": "recordings//a.mp3",
    "trailing-slash": "recordings/",
    "backslash": "recordings\\a.mp3",
    "nul": "recordings/a\x00.mp3",
    "too-long": "a" * 1025,
    "too-long-in-bytes": "é" * 513,  # 513 characters, 1026 UTF-8 bytes
    "long-segment": "a/" + "b" * 256,
    "temp-name": "recordings/.tmp-abc",
    "lone-surrogate": "a\ud800b",
}
KEYED: dict[str, Callable[[BlobStore, str, Path], object]] = {
    **MISSING,
    "put_bytes": lambda s, k, _: s.put_bytes(k, b"x"),
    "put_file": lambda s, k, p: s.put_file(k, p / "src"),
    "exists": lambda s, k, _: s.exists(k),
    "delete": lambda s, k, _: s.delete(k),
}


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_invalid_keys_are_refused_by_every_method(
    store: BlobStore, tmp_path: Path, key: str
) -> None:
    (tmp_path / "src").write_bytes(b"x")
    for name, call in KEYED.items():
        with pytest.raises(InvalidBlobKey) as caught:
            call(store, key, tmp_path)
        assert isinstance(caught.value, ValueError), name
    assert list(store.iter_keys()) == []
