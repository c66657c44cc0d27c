from __future__ import annotations

from callrec.access.ratelimit import LoginLimiter
from callrec.kit.clock import FakeClock


def test_the_window_slides_and_success_clears() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(clock, max_failures=3, window_s=60)
    for _ in range(3):
        assert limiter.retry_after("k") is None
        limiter.fail("k")
    assert limiter.retry_after("k") == 60
    clock.advance(30)
    assert limiter.retry_after("k") == 30
    assert limiter.retry_after("other") is None
    clock.advance(30.5)
    assert limiter.retry_after("k") is None
    limiter.fail("k")
    limiter.clear("k")
    assert limiter.retry_after("k") is None
