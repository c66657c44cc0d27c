"""Fixtures: one migrated database per test run, one rolled-back transaction per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from callrec.app import create_app
from callrec.kit.clock import FakeClock
from callrec.kit.db import QUEUE_INFO_KEY
from callrec.kit.settings import Settings
from callrec.storage import MemoryBlobStore
from callrec.worker.queue import MemoryQueue
from callrec.worker.runtime import Runtime, set_runtime
from tests.dbs import BACKEND, migrated_engine, temp_database
from tests.directory.factories import World, bearer, build_world

# Timing-based failures are noise on a loaded CI machine: no per-example deadline, and no
# example database written into the work tree.
hypothesis_settings.register_profile("callrec", deadline=None, database=None)
hypothesis_settings.load_profile("callrec")


def pytest_report_header() -> str:
    return f"callrec database backend: {BACKEND}"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with temp_database(tmp_path_factory.mktemp("db")) as url:
        eng = migrated_engine(url)
        try:
            yield eng
        finally:
            eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


@pytest.fixture
def blobs() -> MemoryBlobStore:
    return MemoryBlobStore()


@pytest.fixture
def session_factory(connection: Connection, queue: MemoryQueue) -> sessionmaker[Session]:
    # Every commit (the request edge's) becomes a savepoint release inside the test's
    # transaction, which is rolled back at the end: tests never see each other's rows.
    return sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        info={QUEUE_INFO_KEY: queue},
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # WARNING: the per-request info lines would only clutter the test output.
    return Settings(data_dir=tmp_path, secret_key="test-secret", log_json=True, log_level="WARNING")


@pytest.fixture
def runtime(
    settings: Settings,
    session_factory: sessionmaker[Session],
    blobs: MemoryBlobStore,
    clock: FakeClock,
    queue: MemoryQueue,
) -> Iterator[Runtime]:
    built = Runtime(settings, session_factory, blobs, clock, queue)
    set_runtime(built)
    yield built
    set_runtime(None)


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(settings, runtime)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def world(session: Session) -> World:
    built = build_world(session)
    session.commit()
    return built


@pytest.fixture
def other_world(session: Session) -> World:
    built = build_world(session, slug="globex")
    session.commit()
    return built


@pytest.fixture
def as_user(session: Session, clock: FakeClock, world: World):  # type: ignore[no-untyped-def]
    """``as_user("admin")`` → headers carrying a fresh API token for that user of ``world``."""

    def headers(key: str, of: World | None = None) -> dict[str, str]:
        result = bearer(session, clock, (of or world).users[key])
        session.commit()
        return result

    return headers
