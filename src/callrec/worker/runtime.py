"""What a job runs with: settings, database sessions, the blob store, the clock, the queue.
One per process, set by whoever starts the process (``callrec run``/``worker``, a test)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from callrec.kit.clock import Clock
from callrec.kit.settings import Settings
from callrec.storage import BlobStore
from callrec.worker.queue import JobQueue


@dataclass
class Runtime:
    settings: Settings
    sessionmaker: sessionmaker[Session]
    blobs: BlobStore
    clock: Clock
    queue: JobQueue


_current: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current_runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("no callrec runtime in this process: start it with callrec worker/run")
    return _current
