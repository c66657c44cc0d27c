"""What only the S3 adapter has: multipart uploads, the prefix, its own client, bucket faults."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from callrec.storage import BlobNotFound, InvalidBlobKey, S3BlobStore, open_blob_store
from tests.storage.conftest import BUCKET


def _prefix() -> str:
    return f"s3-only/{uuid.uuid4().hex}"


def test_a_large_file_is_uploaded_in_parts(s3_client: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.wav"
    path.write_bytes(b"\x01" * (12 * 1024 * 1024))
    store = S3BlobStore(BUCKET, _prefix(), client=s3_client)
    store.put_file("recordings/o/c/audio.wav", path)
    head = s3_client.head_object(Bucket=BUCKET, Key=store.prefix + "recordings/o/c/audio.wav")
    # A multipart ETag is "<md5 of part md5s>-<part count>": 12 MiB in 8 MiB parts is 2.
    assert head["ETag"].strip('"').endswith("-2")
    assert head["ContentLength"] == 12 * 1024 * 1024


@pytest.mark.parametrize("prefix", ["recs", "/recs/", "recs/", "recs//"])
def test_the_prefix_is_one_folder_however_it_is_written(s3_client: Any, prefix: str) -> None:
    store = S3BlobStore(BUCKET, prefix, client=s3_client)
    assert store.prefix == "recs/"


def test_objects_live_under_the_prefix(s3_client: Any) -> None:
    prefix = _prefix()
    store = S3BlobStore(BUCKET, prefix, client=s3_client)
    store.put_bytes("a/b.mp3", b"abc")
    listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    assert [item["Key"] for item in listed["Contents"]] == [f"{prefix}/a/b.mp3"]


def test_a_key_too_long_with_the_prefix_is_invalid(s3_client: Any) -> None:
    store = S3BlobStore(BUCKET, "p" * 100, client=s3_client)
    key = "/".join(["k" * 200] * 5)  # 1004 bytes: valid alone, 1105 with the prefix
    with pytest.raises(InvalidBlobKey, match="with prefix"):
        store.put_bytes(key, b"x")


def test_a_missing_bucket_is_a_fault_not_a_missing_blob(s3_client: Any) -> None:
    store = S3BlobStore("no-such-bucket", client=s3_client)
    with pytest.raises(ClientError) as caught:
        store.get_bytes("a/b.mp3")
    assert not isinstance(caught.value, BlobNotFound)
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


def test_open_blob_store_builds_a_working_client_from_the_url(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Credentials come from the standard chain, here the env vars; no profile or config file.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    prefix = _prefix()
    store = open_blob_store(f"s3://{BUCKET}/{prefix}?endpoint={s3_endpoint}&region=eu-west-1")
    assert isinstance(store, S3BlobStore)
    store.put_bytes("recordings/o/c/audio.mp3", b"played back")
    assert store.get_bytes("recordings/o/c/audio.mp3") == b"played back"
    assert list(store.iter_keys()) == ["recordings/o/c/audio.mp3"]
    store.delete("recordings/o/c/audio.mp3")
    assert not store.exists("recordings/o/c/audio.mp3")
