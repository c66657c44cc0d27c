"""Jobs are plain functions registered under a ``context.event`` name. They receive the
runtime and string ids only, reload what they need, and are idempotent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callrec.worker.runtime import Runtime

JobFn = Callable[..., None]


@dataclass(frozen=True)
class JobSpec:
    name: str
    fn: JobFn
    retries: int = 0
    retry_delay_s: float = 0
    every_minutes: int | None = None  # periodic when set


JOBS: dict[str, JobSpec] = {}


def job(name: str, *, retries: int = 5, retry_delay_s: float = 2.0) -> Callable[[JobFn], JobFn]:
    """Register ``fn(runtime, *ids)`` as a job. Retries back off: delay doubles each attempt."""

    def register(fn: JobFn) -> JobFn:
        JOBS[name] = JobSpec(name, fn, retries, retry_delay_s)
        return fn

    return register


def periodic(name: str, *, every_minutes: int = 1) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = JobSpec(name, fn, every_minutes=every_minutes)
        return fn

    return register


def run_job(runtime: Runtime, name: str, *args: str) -> None:
    JOBS[name].fn(runtime, *args)


def load_jobs() -> None:
    """Import every context's tasks module so its jobs register."""
    import callrec.consent.tasks
    import callrec.recordings.tasks  # noqa: F401
