"""The job queue contract. Both huey backends (the embedded SQLite file and Redis) pass the same
suite with a real threaded consumer: jobs run with their string ids and the process's runtime,
retry with backoff, stop after their retries, periodic jobs register under their names. Jobs
are sent only after the transaction that enqueued them commits, and dropped when it rolls
back."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from huey import RedisHuey, SqliteHuey  # type: ignore[import-untyped]
from huey.api import Huey, PeriodicTask  # type: ignore[import-untyped]
from huey.consumer import Consumer  # type: ignore[import-untyped]
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from callrec.kit.clock import FakeClock
from callrec.kit.db import QUEUE_INFO_KEY, make_sessionmaker, session_scope
from callrec.kit.settings import Settings
from callrec.storage import MemoryBlobStore
from callrec.worker import registry
from callrec.worker.enqueue import enqueue
from callrec.worker.queue import HueyQueue, MemoryQueue, build_huey
from callrec.worker.runtime import Runtime, current_runtime, set_runtime

REDIS_URL = "redis://127.0.0.1:6379/15"
WAIT_S = 10.0  # the bound on every wait for the consumer
RETRY_DELAY_S = 0.05

RECORD = "test.queue.record"
FLAKY = "test.queue.flaky"
BROKEN = "test.queue.broken"
TICK = "test.queue.tick"  # periodic, every minute
TICK_5 = "test.queue.tick5"  # periodic, every five minutes


class JobFailed(Exception):
    pass


@dataclass(frozen=True)
class Run:
    """One execution of a test job, as seen from inside it (on a consumer thread)."""

    job: str
    ids: tuple[str, ...]
    runtime: Any
    current: Runtime | None  # what current_runtime() answered inside the job


@dataclass(frozen=True)
class Finished:
    """One execution as huey saw it afterwards (its post-execute hook)."""

    job: str
    ids: tuple[str, ...]
    retries_left: int
    retry_delay: float
    error: BaseException | None


class Log:
    """Thread-safe record that tests wait on with a bounded wait, never a bare sleep."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[Any] = []

    def add(self, item: Any) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def of(self, job: str, ids: tuple[str, ...]) -> list[Any]:
        with self._cond:
            return [i for i in self._items if i.job == job and i.ids == ids]

    def wait(self, job: str, ids: tuple[str, ...], done: Callable[[list[Any]], bool]) -> list[Any]:
        with self._cond:
            ok = self._cond.wait_for(lambda: done(self.of(job, ids)), timeout=WAIT_S)
        if not ok:
            pytest.fail(f"{job}{ids}: not done within {WAIT_S}s; saw {self.of(job, ids)}")
        return self.of(job, ids)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()


RUNS = Log()
FINISHED = Log()


def _run(job: str, runtime: Any, ids: tuple[str, ...]) -> int:
    try:
        current: Runtime | None = current_runtime()
    except RuntimeError:
        current = None
    RUNS.add(Run(job, ids, runtime, current))
    return len(RUNS.of(job, ids))


def record_job(runtime: Any, *ids: str) -> None:
    _run(RECORD, runtime, ids)


def flaky_job(runtime: Any, *ids: str) -> None:
    if _run(FLAKY, runtime, ids) < 3:
        raise JobFailed("not yet")


def broken_job(runtime: Any, *ids: str) -> None:
    _run(BROKEN, runtime, ids)
    raise JobFailed("never works")


def tick_job(runtime: Any) -> None:
    _run(TICK, runtime, ())


def tick5_job(runtime: Any) -> None:
    _run(TICK_5, runtime, ())


@pytest.fixture(autouse=True)
def test_jobs() -> Iterator[None]:
    """Registers the test-only jobs for this module's tests only; other tests never see them."""
    names = (RECORD, FLAKY, BROKEN, TICK, TICK_5)
    assert not set(names) & set(registry.JOBS), "test job names must be unique"
    registry.job(RECORD, retries=0)(record_job)
    registry.job(FLAKY, retries=3, retry_delay_s=RETRY_DELAY_S)(flaky_job)
    registry.job(BROKEN, retries=2, retry_delay_s=RETRY_DELAY_S)(broken_job)
    registry.periodic(TICK)(tick_job)
    registry.periodic(TICK_5, every_minutes=5)(tick5_job)
    RUNS.clear()
    FINISHED.clear()
    yield
    for name in names:
        registry.JOBS.pop(name, None)


def _new_ids(*extra: str) -> tuple[str, ...]:
    return (str(uuid.uuid4()), *extra)


# --- the two huey backends -------------------------------------------------------------------


def _redis_reachable_or_fail() -> None:
    """The Redis backend is part of the contract: unreachable means failed, never skipped."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"the Redis queue backend must be tested, but {REDIS_URL} is unreachable ({exc}); "
            "start a Redis server on 127.0.0.1:6379",
            pytrace=False,
        )
    finally:
        client.close()


@pytest.fixture(params=["sqlite", "redis"])
def huey(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Huey]:
    if request.param == "redis":
        _redis_reachable_or_fail()
        built = build_huey(REDIS_URL, tmp_path)
        assert isinstance(built, RedisHuey)
        # build_huey names every instance "callrec": give this one keys of its own (same URL,
        # same storage options) so concurrent runs on DB 15 never take each other's tasks.
        built.name = f"callrec_test_{uuid.uuid4().hex}"
        built.storage = built.create_storage()
        assert built.storage.pool.connection_kwargs["db"] == 15
    else:
        built = build_huey("", tmp_path)
        assert isinstance(built, SqliteHuey)
    built.flush()
    try:
        yield built
    finally:
        built.flush()
        if request.param == "redis":
            built.storage.pool.disconnect()
        else:
            built.storage.close()


@pytest.fixture
def hq(huey: Huey) -> HueyQueue:
    queue = HueyQueue(huey)

    @huey.post_execute(name="test-finished")
    def _finished(task: Any, _value: Any, exception: BaseException | None) -> None:
        FINISHED.add(
            Finished(task.name, tuple(task.args), task.retries, task.retry_delay, exception)
        )

    return queue


@pytest.fixture
def worker_runtime(
    settings: Settings,
    session_factory: sessionmaker[Session],
    blobs: MemoryBlobStore,
    clock: FakeClock,
    hq: HueyQueue,
) -> Iterator[Runtime]:
    built = Runtime(settings, session_factory, blobs, clock, hq)
    set_runtime(built)
    try:
        yield built
    finally:
        set_runtime(None)


@pytest.fixture
def consumer(hq: HueyQueue, worker_runtime: Runtime) -> Iterator[Consumer]:
    """A real consumer in threads of this process, without signal handlers (as EmbeddedWorker)."""
    started = hq.huey.create_consumer(workers=2, worker_type="thread", periodic=False)
    started._set_signal_handlers = lambda: None
    started.start()
    try:
        yield started
    finally:
        started.stop(graceful=True)


def _stop_and_assert_idle(consumer: Consumer, huey: Huey) -> None:
    """Once the workers have finished what they were running, nothing is left to retry."""
    consumer.stop(graceful=True)
    assert huey.pending_count() == 0
    assert huey.scheduled_count() == 0


def test_a_sent_job_runs_on_the_consumer_with_its_string_ids(
    hq: HueyQueue, consumer: Consumer, worker_runtime: Runtime
) -> None:
    ids = _new_ids("42")

    hq.send(RECORD, *ids)

    [run] = RUNS.wait(RECORD, ids, lambda runs: len(runs) >= 1)
    assert run.ids == ids
    assert all(type(i) is str for i in run.ids)
    assert run.runtime is worker_runtime
    [finished] = FINISHED.wait(RECORD, ids, lambda done: len(done) >= 1)
    assert finished.error is None
    _stop_and_assert_idle(consumer, hq.huey)
    assert len(RUNS.of(RECORD, ids)) == 1


def test_jobs_get_the_registry_retries_and_delay(hq: HueyQueue) -> None:
    assert hq.tasks[FLAKY].retries == 3
    assert hq.tasks[FLAKY].retry_delay == RETRY_DELAY_S
    assert hq.tasks[BROKEN].retries == 2
    assert hq.tasks[RECORD].retries == 0


def test_failing_jobs_are_retried_with_backoff_and_stop_after_their_retries(
    hq: HueyQueue, consumer: Consumer
) -> None:
    # Both in one test, running side by side: huey's scheduler moves a retry to the queue on
    # its next one-second tick, so every retry costs up to a second whatever its delay.
    flaky, broken = _new_ids(), _new_ids()
    broken_retries = registry.JOBS[BROKEN].retries

    hq.send(FLAKY, *flaky)
    hq.send(BROKEN, *broken)

    # Fails twice, then succeeds on the third run; the delay doubles on every retry.
    finished = FINISHED.wait(FLAKY, flaky, lambda done: any(f.error is None for f in done))
    assert [type(f.error) for f in finished] == [JobFailed, JobFailed, type(None)]
    assert [f.retries_left for f in finished] == [3, 2, 1]
    assert [f.retry_delay for f in finished] == pytest.approx(
        [RETRY_DELAY_S, 2 * RETRY_DELAY_S, 4 * RETRY_DELAY_S]
    )
    # Always fails: its last run has no retry left, so huey does not requeue it.
    finished = FINISHED.wait(BROKEN, broken, lambda done: any(f.retries_left == 0 for f in done))
    assert [f.retries_left for f in finished] == list(range(broken_retries, -1, -1))
    assert all(isinstance(f.error, JobFailed) for f in finished)

    _stop_and_assert_idle(consumer, hq.huey)
    assert len(RUNS.of(FLAKY, flaky)) == 3
    assert len(RUNS.of(BROKEN, broken)) == broken_retries + 1


def test_periodic_jobs_are_huey_periodic_tasks_under_their_names(hq: HueyQueue) -> None:
    huey = hq.huey
    periodic = {name for name, spec in registry.JOBS.items() if spec.every_minutes is not None}
    assert {TICK, TICK_5} <= periodic
    for name in periodic:
        wrapper = hq.tasks[name]
        assert wrapper.name == name
        assert wrapper.huey is huey
        assert issubclass(wrapper.task_class, PeriodicTask)
    for name in set(registry.JOBS) - periodic:
        assert not issubclass(hq.tasks[name].task_class, PeriodicTask)

    def due(minute: int) -> set[str]:
        return {task.name for task in huey.read_periodic(datetime(2030, 1, 1, 12, minute))}

    assert {TICK, TICK_5} <= due(10)
    assert TICK in due(11)
    assert TICK_5 not in due(11)
    assert RECORD not in due(10)


def test_a_due_periodic_job_runs_on_the_consumer_with_the_runtime(
    hq: HueyQueue, consumer: Consumer, worker_runtime: Runtime
) -> None:
    # What the scheduler would enqueue at 12:05, without waiting for a minute to turn.
    [task] = [t for t in hq.huey.read_periodic(datetime(2030, 1, 1, 12, 5)) if t.name == TICK_5]
    hq.huey.enqueue(task)

    [run] = RUNS.wait(TICK_5, (), lambda runs: len(runs) >= 1)
    assert run.runtime is worker_runtime
    _stop_and_assert_idle(consumer, hq.huey)


def test_jobs_run_with_the_runtime_set_in_the_process(
    hq: HueyQueue,
    consumer: Consumer,
    worker_runtime: Runtime,
    settings: Settings,
    blobs: MemoryBlobStore,
    clock: FakeClock,
    session_factory: sessionmaker[Session],
) -> None:
    replacement = Runtime(settings, session_factory, blobs, clock, hq)
    set_runtime(replacement)
    ids = _new_ids()

    hq.send(RECORD, *ids)

    [run] = RUNS.wait(RECORD, ids, lambda runs: len(runs) >= 1)
    assert run.runtime is replacement
    assert run.current is replacement

    # Without a runtime a job fails loudly instead of running with nothing.
    set_runtime(None)
    orphan = _new_ids()
    hq.send(RECORD, *orphan)
    [finished] = FINISHED.wait(RECORD, orphan, lambda done: len(done) >= 1)
    assert isinstance(finished.error, RuntimeError)
    assert "no callrec runtime" in str(finished.error)
    _stop_and_assert_idle(consumer, hq.huey)
    assert RUNS.of(RECORD, orphan) == []


# --- sent after commit, dropped on rollback ----------------------------------------------------


def test_an_enqueued_job_is_sent_once_after_commit(session: Session, queue: MemoryQueue) -> None:
    session.execute(text("SELECT 1"))  # the unit of work that wrote the job's rows is open

    enqueue(session, RECORD, "rec-1")
    session.flush()
    assert queue.sent == []

    session.commit()
    assert queue.sent == [(RECORD, ("rec-1",))]

    session.execute(text("SELECT 1"))
    session.commit()
    assert queue.sent == [(RECORD, ("rec-1",))]


def test_a_rolled_back_job_is_never_sent(session: Session, queue: MemoryQueue) -> None:
    session.execute(text("SELECT 1"))
    enqueue(session, RECORD, "gone")

    session.rollback()
    assert queue.sent == []

    session.execute(text("SELECT 1"))
    enqueue(session, RECORD, "kept")
    session.commit()
    assert queue.sent == [(RECORD, ("kept",))]


def test_session_scope_sends_on_success_and_drops_on_error(
    session_factory: sessionmaker[Session], queue: MemoryQueue
) -> None:
    with session_scope(session_factory) as s:
        s.execute(text("SELECT 1"))
        enqueue(s, RECORD, "ok")
        assert queue.sent == []
    assert queue.sent == [(RECORD, ("ok",))]

    def unit_of_work_that_fails() -> None:
        with session_scope(session_factory) as s:
            s.execute(text("SELECT 1"))
            enqueue(s, RECORD, "failed")
            raise JobFailed

    with pytest.raises(JobFailed):
        unit_of_work_that_fails()
    assert queue.sent == [(RECORD, ("ok",))]


def test_enqueue_without_a_queue_fails_loudly(engine: Engine) -> None:
    with make_sessionmaker(engine)() as s:
        assert QUEUE_INFO_KEY not in s.info
        with pytest.raises(RuntimeError, match="no job queue"):
            enqueue(s, RECORD, "x")


def test_make_sessionmaker_gives_its_sessions_the_queue(engine: Engine) -> None:
    queue = MemoryQueue()
    with make_sessionmaker(engine, queue)() as s:
        assert s.info[QUEUE_INFO_KEY] is queue


def test_a_job_enqueued_before_any_sql_is_dropped_by_rollback(
    session: Session, queue: MemoryQueue
) -> None:
    enqueue(session, RECORD, "gone")
    session.rollback()
    session.execute(text("SELECT 1"))
    session.commit()
    assert queue.sent == []


def test_a_savepoint_release_does_not_send_the_outer_transactions_jobs(
    session: Session, queue: MemoryQueue
) -> None:
    session.execute(text("SELECT 1"))
    enqueue(session, RECORD, "outer")
    with session.begin_nested():
        session.execute(text("SELECT 1"))
    assert queue.sent == []
    session.rollback()
    assert queue.sent == []


def test_a_savepoint_rollback_keeps_the_outer_transactions_jobs(
    session: Session, queue: MemoryQueue
) -> None:
    session.execute(text("SELECT 1"))
    enqueue(session, RECORD, "outer")
    session.begin_nested().rollback()
    session.commit()
    assert queue.sent == [(RECORD, ("outer",))]


def test_a_closed_session_drops_its_uncommitted_jobs(
    session_factory: sessionmaker[Session], queue: MemoryQueue
) -> None:
    s = session_factory()
    s.execute(text("SELECT 1"))
    enqueue(s, RECORD, "abandoned")
    s.close()
    s.execute(text("SELECT 1"))  # a closed session can be used again
    s.commit()
    s.close()
    assert queue.sent == []


def test_a_send_that_fails_after_commit_does_not_fail_the_commit(
    session: Session, queue: MemoryQueue
) -> None:
    session.execute(text("SELECT 1"))
    enqueue(session, "test.queue.not-registered", "lost")  # MemoryQueue.send raises KeyError
    enqueue(session, RECORD, "still-sent")
    session.commit()  # the rows are committed; recovery re-sends what never arrived
    assert queue.sent == [(RECORD, ("still-sent",))]


# --- build_huey ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["", "sqlite://"])
def test_build_huey_defaults_to_a_sqlite_file_in_the_data_dir(url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet"
    built = build_huey(url, data_dir)
    try:
        assert isinstance(built, SqliteHuey)
        assert built.name == "callrec"
        assert built.storage.filename == str(data_dir / "queue.db")
        assert (data_dir / "queue.db").exists()
    finally:
        built.storage.close()


def test_build_huey_sqlite_url_names_the_file(tmp_path: Path) -> None:
    """As in SQLAlchemy URLs: four slashes for an absolute path; the directory is created."""
    target = tmp_path / "elsewhere" / "jobs.db"
    built = build_huey(f"sqlite:///{target}", tmp_path / "data")
    try:
        assert isinstance(built, SqliteHuey)
        assert built.storage.filename == str(target)
        assert target.exists()
    finally:
        built.storage.close()


@pytest.mark.parametrize(
    "url", [REDIS_URL, "redis://queue.internal:6380/2", "rediss://queue.internal/0"]
)
def test_build_huey_redis_urls_give_redis(url: str, tmp_path: Path) -> None:
    built = build_huey(url, tmp_path)
    try:
        assert isinstance(built, RedisHuey)
        assert built.name == "callrec"
    finally:
        built.storage.pool.disconnect()


@pytest.mark.parametrize(
    "url",
    ["postgresql://localhost/queue", "amqp://localhost", "memory://", "sqlite:jobs.db", "redis"],
)
def test_build_huey_rejects_other_urls_clearly(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CALLREC_QUEUE_URL must be") as raised:
        build_huey(url, tmp_path)
    assert repr(url) in str(raised.value)
