"""Stores for the contract suite: the memory fake, a temp directory, and S3 on moto's server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callrec.storage import BlobStore, FilesystemBlobStore, MemoryBlobStore

BUCKET = "callrec-test"
ADAPTERS = ["memory", "filesystem", "s3"]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3 on a free loopback port, for the whole run: real HTTP, no AWS."""
    # Imported here so runs that select no S3 test do not pay for importing moto.
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        make_test_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def make_test_client(endpoint: str) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    # Explicit dummy credentials: the suite must never pick up a developer's real AWS profile.
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    return make_test_client(s3_endpoint)


@pytest.fixture(params=ADAPTERS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "memory":
        return MemoryBlobStore()
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    from callrec.storage.s3 import S3BlobStore

    # A fresh prefix per test isolates tests in one bucket and exercises the prefix handling.
    prefix = f"contract/{uuid.uuid4().hex}"
    return S3BlobStore(BUCKET, prefix, client=request.getfixturevalue("s3_client"))
