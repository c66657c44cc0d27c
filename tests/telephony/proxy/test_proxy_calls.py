"""Calls through the recording proxy between two real SIPp peers: what each party hears, the
recording of both, and the answers for calls that do not connect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from callrec.models import Call, RecordingState
from tests.recordings.audio import decode, window
from tests.telephony.proxy.harness import (
    CALLEE_HZ,
    CALLER_HZ,
    Peers,
    ProxyWorld,
    has_tone,
    proxy_world,
)


@pytest.fixture
def world(tmp_path: Path, callee_port: int) -> Iterator[ProxyWorld]:
    yield from proxy_world(tmp_path, routes={"201": ("127.0.0.1", callee_port)})


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_an_incoming_call_is_bridged_and_recorded_with_both_parties(
    world: ProxyWorld, peers: Peers, callee_port: int, transport: str
) -> None:
    """The caller over UDP or TCP (its BYE and our answers on its connection), the callee UDP."""
    callee = peers.callee(callee_port)
    caller = peers.call(world.port, "201", "+15550001", hold_ms=3000, transport=transport)
    assert callee.wait() == 0, callee.errors()
    assert caller.status() == ["200"]
    heard_by_caller, _ = caller.sink.audio()
    heard_by_callee, _ = callee.sink.audio()
    assert has_tone(window(heard_by_caller, 8000, 0.5, 2.5), CALLEE_HZ)
    assert has_tone(window(heard_by_callee, 8000, 0.5, 2.5), CALLER_HZ)
    world.wait_captured()
    (ready,) = world.process()
    assert ready.state is RecordingState.READY, ready.failure_reason
    rate, channels, samples = decode(world.runtime.blobs.get_bytes(ready.storage_key or ""))
    assert channels == 1
    middle = window(samples, rate, 0.8, 2.5)
    assert has_tone(middle, CALLER_HZ, rate) and has_tone(middle, CALLEE_HZ, rate)
    with world.runtime.sessionmaker() as session:
        call = session.scalars(select(Call)).one()
        assert call.direction == "inbound"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_the_callee_hanging_up_ends_the_call_and_its_recording(
    world: ProxyWorld, peers: Peers, callee_port: int, transport: str
) -> None:
    """The callee's BYE reaches the caller over its own transport (a TCP caller's connection)."""
    callee = peers.callee(callee_port, "proxy_callee_bye.xml", hold_ms=2000)
    caller = peers.call(world.port, "201", "+15550001", scenario="proxy_caller_hung_up.xml",
                        transport=transport)  # fmt: skip
    assert callee.wait() == 0, callee.errors()
    assert caller.status() == ["200"]
    world.wait_captured()
    world.wait_idle()
    (ready,) = world.process()
    assert ready.state is RecordingState.READY, ready.failure_reason
    assert ready.duration_ms is not None and 1500 <= ready.duration_ms <= 2600


def test_a_busy_callee_is_relayed_and_leaves_no_recording(
    world: ProxyWorld, peers: Peers, callee_port: int
) -> None:
    callee = peers.callee(callee_port, "proxy_callee_busy.xml")
    caller = peers.call(world.port, "201", "+15550001")
    assert callee.wait() == 0, callee.errors()
    assert caller.status() == ["486"]
    world.wait_idle()
    assert world.recordings() == []
    with world.runtime.sessionmaker() as session:
        assert session.scalars(select(Call)).all() == []


def test_cancel_before_answer_is_relayed_and_leaves_no_recording(
    world: ProxyWorld, peers: Peers, callee_port: int
) -> None:
    callee = peers.callee(callee_port, "proxy_callee_ringing.xml")
    caller = peers.call(world.port, "201", "+15550001", scenario="proxy_caller_cancel.xml")
    assert callee.wait() == 0, callee.errors()  # it saw the CANCEL and answered 487
    assert caller.status() == ["487"]
    world.wait_idle()
    assert world.recordings() == []


def test_a_number_without_a_route_gets_404(world: ProxyWorld, peers: Peers) -> None:
    caller = peers.call(world.port, "999", "+15550001")
    assert caller.status() == ["404"]
    world.wait_idle()


@pytest.fixture
def closed_world(tmp_path: Path, callee_port: int) -> Iterator[ProxyWorld]:
    yield from proxy_world(tmp_path, routes={"201": ("127.0.0.1", callee_port)},
                           allow=("192.0.2.0/24",))  # fmt: skip


def test_a_peer_outside_the_allowlist_gets_403_and_nothing_is_called(
    closed_world: ProxyWorld, peers: Peers, callee_port: int
) -> None:
    callee = peers.callee(callee_port)
    caller = peers.call(closed_world.port, "201", "+15550001")
    assert caller.status() == ["403"]
    assert closed_world.proxy.refused == 1
    assert callee.process is not None and callee.process.poll() is None  # never called
    assert closed_world.recordings() == []
