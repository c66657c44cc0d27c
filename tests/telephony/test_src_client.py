"""Our own small SIPREC client (used by the demo) against our recording server: a real call
over real sockets, recorded and processed."""

from __future__ import annotations

import asyncio

from callrec.models import RecordingState
from callrec.telephony.src_client import DemoCall, place_call
from callrec.worker.queue import MemoryQueue
from tests.telephony.test_siprec_sipp import Srs, _recordings, _wait_captured, srs  # noqa: F401


def test_the_demo_client_records_a_call(srs: Srs) -> None:  # noqa: F811
    call = DemoCall("tel:+15550001", "Caller", "sip:alice@acme.example.com", "Alice", 2.0)
    status = asyncio.run(place_call("127.0.0.1", srs.port, call))
    assert status == 200
    _wait_captured(srs.runtime)
    assert isinstance(srs.runtime.queue, MemoryQueue)
    srs.runtime.queue.drain(srs.runtime)
    (recording,) = _recordings(srs.runtime)
    assert recording.state is RecordingState.READY
    assert abs((recording.duration_ms or 0) - 2000) <= 100
    # Two seconds is the caller's first turn: the callee has not spoken yet.
    assert recording.quality_flags == ["one_sided"]


def test_the_demo_client_hears_the_decline(srs: Srs) -> None:  # noqa: F811
    call = DemoCall("tel:+15550001", "Caller", "sip:202@acme.example.com", "Bob", 1.0)
    assert asyncio.run(place_call("127.0.0.1", srs.port, call)) == 603
    assert _recordings(srs.runtime) == []
