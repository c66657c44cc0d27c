"""Building a process's runtime and running the huey consumer, standalone or embedded."""

from __future__ import annotations

from typing import Any

from callrec.kit.clock import Clock, SystemClock
from callrec.kit.db import make_engine, make_sessionmaker
from callrec.kit.logging import get_logger
from callrec.kit.settings import Settings
from callrec.storage import open_blob_store
from callrec.worker.queue import HueyQueue, JobQueue, build_huey
from callrec.worker.runtime import Runtime, set_runtime

log = get_logger("callrec.worker")


def build_runtime(
    settings: Settings, *, queue: JobQueue | None = None, clock: Clock | None = None
) -> Runtime:
    if queue is None:
        queue = HueyQueue(build_huey(settings.queue_url, settings.data_dir))
    engine = make_engine(settings.database_url_resolved)
    runtime = Runtime(
        settings=settings,
        sessionmaker=make_sessionmaker(engine, queue),
        blobs=open_blob_store(settings.storage_url_resolved),
        clock=clock or SystemClock(),
        queue=queue,
    )
    set_runtime(runtime)
    return runtime


def prepare(runtime: Runtime) -> None:
    """Before taking jobs: clear what a killed worker left, and re-send what it lost."""
    from callrec.recordings.tasks import recover, sweep_work_dirs

    swept = sweep_work_dirs(runtime)
    sweep_temp = getattr(runtime.blobs, "sweep_temp", None)
    if sweep_temp is not None:
        sweep_temp(60.0)
    recover(runtime)
    log.info("worker.ready", swept_work_dirs=swept)


def _consumer(runtime: Runtime, workers: int) -> Any:
    if not isinstance(runtime.queue, HueyQueue):
        raise RuntimeError("a worker needs the huey queue")
    # An idle SQLite queue is polled with backoff; capping it at 0.5 s keeps hang-up to
    # playable short (huey's default cap is 10 s). Redis blocks on the list, so no polling.
    return runtime.queue.huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=True,
        check_worker_health=True,
        initial_delay=0.05,
        backoff=1.5,
        max_delay=0.5,
    )


def run_worker(runtime: Runtime, workers: int) -> None:
    """``callrec worker``: blocks; SIGTERM/SIGINT stop it (huey's handlers)."""
    prepare(runtime)
    _consumer(runtime, workers).run()


class EmbeddedWorker:
    """The consumer inside ``callrec run``: threads of this process, no signal handlers
    (the web server owns them)."""

    def __init__(self, runtime: Runtime, workers: int) -> None:
        self.runtime = runtime
        self.consumer = _consumer(runtime, workers)
        self.consumer._set_signal_handlers = lambda: None

    def start(self) -> None:
        prepare(self.runtime)
        self.consumer.start()  # starts the scheduler and worker threads, then returns

    def stop(self) -> None:
        self.consumer.stop(graceful=True)
