"""CALLREC_STORAGE_URL → store: the accepted forms, and every refusal naming what is accepted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from callrec.storage import FilesystemBlobStore, MemoryBlobStore, S3BlobStore, open_blob_store


def test_file_url_names_an_absolute_root(tmp_path: Path) -> None:
    store = open_blob_store(f"file://{tmp_path}/blobs")
    assert isinstance(store, FilesystemBlobStore)
    assert store.root == tmp_path / "blobs"


def test_file_url_may_say_localhost_and_escape_characters(tmp_path: Path) -> None:
    store = open_blob_store(f"file://localhost{tmp_path}/my%20blobs")
    assert isinstance(store, FilesystemBlobStore)
    assert store.root == tmp_path / "my blobs"


def test_memory_url_gives_a_fresh_store_each_time() -> None:
    first, second = open_blob_store("memory://"), open_blob_store("memory://")
    assert isinstance(first, MemoryBlobStore)
    first.put_bytes("a", b"1")
    assert not second.exists("a")


def test_s3_url_carries_bucket_prefix_endpoint_and_region() -> None:
    # Building a client makes no request, so no server is needed here.
    store = open_blob_store("s3://recs/prod/eu?endpoint=http://127.0.0.1:9000&region=eu-west-1")
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("recs", "prod/eu/")
    client = store._client
    assert client.meta.endpoint_url == "http://127.0.0.1:9000"
    assert client.meta.region_name == "eu-west-1"


def test_s3_url_defaults_to_aws_in_us_east_1() -> None:
    store = open_blob_store("s3://recs")
    assert isinstance(store, S3BlobStore)
    assert store.prefix == ""
    assert store._client.meta.region_name == "us-east-1"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/var/lib/callrec/blobs",
        "ftp://host/blobs",
        "http://127.0.0.1:9000/bucket",
        "gs://bucket/prefix",
        "file:relative/blobs",
        "file://otherhost/srv/blobs",
        "file:///srv/blobs?sync=1",
        "file:///srv/blobs#frag",
        "s3://",
        "s3:///prefix-without-bucket",
        "s3://bucket?endpoint=",
        "s3://bucket?endpoint=ftp://x",
        "s3://bucket?bogus=1",
        "s3://bucket?region=a&region=b",
        "memory://named",
        "memory://?x=1",
    ],
)
def test_bad_urls_are_refused_naming_the_accepted_schemes(url: str) -> None:
    with pytest.raises(ValueError, match=r"accepted: file:///.*s3://bucket.*memory://"):
        open_blob_store(url)


def test_the_embedded_default_does_not_import_boto3() -> None:
    # boto3 is only needed for s3:// URLs; a fresh interpreter shows what importing costs.
    code = (
        "import sys, callrec.storage as s; s.open_blob_store('memory://'); "
        "assert 'boto3' not in sys.modules, 'boto3 imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
