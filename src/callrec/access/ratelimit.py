"""Failed-login limiter: a sliding window of failures per (email, client address).

In-process: with several API nodes each keeps its own window, which still bounds guessing to
``nodes * max_failures`` per window. Successful logins clear the key.
"""

from __future__ import annotations

from collections import deque
from threading import Lock

from callrec.kit.clock import Clock


class LoginLimiter:
    def __init__(self, clock: Clock, max_failures: int, window_s: float) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = Lock()

    def retry_after(self, key: str) -> float | None:
        """Seconds until the key may try again, or None when it may try now."""
        with self._lock:
            times = self._prune(key)
            if len(times) < self._max:
                return None
            return max(0.0, times[0] + self._window - self._clock.monotonic())

    def fail(self, key: str) -> None:
        with self._lock:
            self._prune(key).append(self._clock.monotonic())

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, key: str) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        horizon = self._clock.monotonic() - self._window
        while times and times[0] <= horizon:
            times.popleft()
        return times
