"""The queue port and its two implementations: huey (embedded SQLite file or Redis) and an
in-memory fake for unit tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab  # type: ignore[import-untyped]

from callrec.worker.registry import JOBS, load_jobs


class JobQueue(ABC):
    @abstractmethod
    def send(self, name: str, *args: str) -> None: ...


class MemoryQueue(JobQueue):
    """Collects sent jobs; a test runs them explicitly with ``drain``."""

    def __init__(self) -> None:
        load_jobs()
        self.sent: list[tuple[str, tuple[str, ...]]] = []

    def send(self, name: str, *args: str) -> None:
        if name not in JOBS:
            raise KeyError(f"unknown job {name!r}")
        self.sent.append((name, args))

    def drain(self, runtime: Any) -> int:
        """Run queued jobs (and those they queue) until none is left; returns how many ran."""
        from callrec.worker.registry import run_job

        ran = 0
        while self.sent:
            name, args = self.sent.pop(0)
            run_job(runtime, name, *args)
            ran += 1
        return ran


class HueyQueue(JobQueue):
    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self.tasks: dict[str, Any] = {}
        load_jobs()
        for spec in JOBS.values():
            wrapper = _bind(spec.name)
            if spec.every_minutes is not None:
                minutes = "*" if spec.every_minutes == 1 else f"*/{spec.every_minutes}"
                self.tasks[spec.name] = huey.periodic_task(crontab(minute=minutes), name=spec.name)(
                    wrapper
                )
            else:
                self.tasks[spec.name] = huey.task(
                    name=spec.name,
                    retries=spec.retries,
                    retry_delay=spec.retry_delay_s,
                    retry_backoff=2,
                )(wrapper)

    def send(self, name: str, *args: str) -> None:
        self.tasks[name](*args)

    def pending(self) -> int:
        return int(self.huey.pending_count())


def _bind(name: str) -> Any:
    def run(*args: str) -> None:
        from callrec.worker.registry import run_job
        from callrec.worker.runtime import current_runtime

        run_job(current_runtime(), name, *args)

    run.__name__ = name.replace(".", "_")
    return run


def build_huey(queue_url: str, data_dir: Path) -> Huey:
    """``""``/``sqlite://`` → a SQLite file in the data dir; ``redis://…`` → Redis."""
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("callrec", url=queue_url, utc=True)
    if queue_url in ("", "sqlite://"):
        data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("callrec", filename=str(data_dir / "queue.db"), utc=True)
    if queue_url.startswith("sqlite:///"):
        # As in SQLAlchemy URLs: sqlite:///relative/path, sqlite:////absolute/path.
        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("callrec", filename=str(path), utc=True)
    raise ValueError(
        f"CALLREC_QUEUE_URL must be empty, sqlite:///path or redis://…, not {queue_url!r}"
    )
