"""Our own small SIPREC client (used by the demo) against our recording server: a real call
over real sockets, recorded and processed."""

from __future__ import annotations

import asyncio

import numpy as np

from callrec.models import RecordingState
from callrec.telephony.src_client import DemoCall, place_call
from tests.recordings.audio import decode
from tests.telephony.test_siprec_sipp import (  # noqa: F401
    Srs,
    _drain,
    _recordings,
    _wait_captured,
    srs,
)


def test_the_demo_client_records_a_call(srs: Srs) -> None:  # noqa: F811
    call = DemoCall("tel:+15550001", "Caller", "sip:alice@acme.example.com", "Alice", 2.0)
    status = asyncio.run(place_call("127.0.0.1", srs.port, call))
    assert status == 200
    _wait_captured(srs.runtime)
    (recording,) = _drain(srs.runtime)
    assert recording.state is RecordingState.READY
    # Two seconds of talk from where the first packet landed (its arrival after the 200 OK,
    # which a loaded machine may delay).
    rate, _, samples = decode(srs.runtime.blobs.get_bytes(recording.storage_key or ""))
    onset_ms = int(np.argmax(np.abs(samples) > 0.01)) / rate * 1000
    assert abs((recording.duration_ms or 0) - onset_ms - 2000) <= 100
    # Two seconds is the caller's first turn: the callee has not spoken yet.
    assert recording.quality_flags == ["one_sided"]


def test_the_demo_client_hears_the_decline(srs: Srs) -> None:  # noqa: F811
    call = DemoCall("tel:+15550001", "Caller", "sip:202@acme.example.com", "Bob", 1.0)
    assert asyncio.run(place_call("127.0.0.1", srs.port, call)) == 603
    assert _recordings(srs.runtime) == []
