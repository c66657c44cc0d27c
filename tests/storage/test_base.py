"""Key validation and the chunk stream, which every adapter shares through the base class."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callrec.storage.base import CHUNK_SIZE, BlobStream, InvalidBlobKey, validate_key


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "recordings/org1/01J0ABCDEF/audio.mp3",
        "..a/b..",  # dots inside a segment are fine
        "a/.hidden",
        "/".join(["s" * 204] * 5),  # exactly 1024 bytes
        "/".join(["é" * 127] * 4),  # 255-byte segments
    ],
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("/a", "absolute"),
        ("a/../b", "'..'"),
        ("a\\b", "backslash"),
        ("a\x00", "NUL"),
        ("/".join(["s" * 204] * 5) + "s", "longer than 1024 bytes"),
        ("a/.tmp-1", "reserved"),
        ("x" * 256, "segment is longer than 255"),
    ],
)
def test_invalid_keys_say_why(key: str, reason: str) -> None:
    with pytest.raises(InvalidBlobKey, match=reason) as caught:
        validate_key(key)
    assert caught.value.key == key


@given(st.text(alphabet=st.sampled_from("ab./\\\x00é-"), max_size=30))
def test_a_valid_key_never_leaves_the_root(key: str) -> None:
    root = Path("/srv/blobs")
    try:
        validate_key(key)
    except InvalidBlobKey:
        return
    path = root.joinpath(*key.split("/"))
    assert path.is_relative_to(root)
    assert path != root
    assert ".." not in path.parts


class _Source(io.BytesIO):
    closes = 0

    def close(self) -> None:
        self.closes += 1
        super().close()


def test_a_stream_stops_at_its_length_and_closes_its_source_once() -> None:
    source = _Source(b"x" * (CHUNK_SIZE * 2 + 10))
    stream = BlobStream(source, CHUNK_SIZE + 5)
    assert [len(c) for c in stream] == [CHUNK_SIZE, 5]
    stream.close()
    assert source.closes == 1


def test_closing_a_stream_early_releases_its_source() -> None:
    source = _Source(b"x" * (CHUNK_SIZE * 3))
    with BlobStream(source, None) as stream:
        assert len(next(stream)) == CHUNK_SIZE
    assert source.closed
    assert list(stream) == []
