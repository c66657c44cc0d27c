"""A proxied call's life between real SIPp peers: hold and resume relayed (silence in the
recording, not a gap), a blind transfer (REFER) that starts a second segment and recording in
the same call, and parties that vanish without a BYE (the RTP timeout ends the call)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from callrec.models import Call, RecordingState, Segment, User
from tests.recordings.audio import dbfs, decode, window
from tests.telephony.proxy.harness import (
    CALLEE_HZ,
    CALLER_HZ,
    RATE,
    THIRD_HZ,
    Peers,
    ProxyWorld,
    free_port,
    has_tone,
    proxy_world,
)


@pytest.fixture
def ports() -> dict[str, int]:
    return {"201": free_port(), "203": free_port()}


@pytest.fixture
def world(tmp_path: Path, ports: dict[str, int]) -> Iterator[ProxyWorld]:
    routes = {ext: ("127.0.0.1", port) for ext, port in ports.items()}
    yield from proxy_world(tmp_path, routes=routes, rtp_timeout_s=2.0)


def test_hold_and_resume_are_relayed_and_the_hold_is_silence_in_the_recording(
    world: ProxyWorld, peers: Peers, ports: dict[str, int]
) -> None:
    """Both parties stop sending while held (1.2 s to 2.8 s into their audio; the hold
    re-INVITE goes 1.3 s after the answer, the resume 1.3 s later): the recording keeps that
    time, silent, between the audio before and after."""
    gap = (1.2, 2.8)
    callee = peers.callee(ports["201"], "proxy_callee_hold.xml", seconds=4.0, gap=gap)
    caller = peers.call(world.port, "201", "+15550001", scenario="proxy_caller_hold.xml",
                        seconds=4.0, gap=gap)  # fmt: skip
    assert callee.wait() == 0, callee.errors()  # it was offered sendonly, then sendrecv
    assert caller.status() == ["200"]
    world.wait_captured()
    (ready,) = world.process()
    assert ready.state is RecordingState.READY, ready.failure_reason
    rate, _, samples = decode(world.runtime.blobs.get_bytes(ready.storage_key or ""))
    assert ready.duration_ms is not None and ready.duration_ms >= 3600  # not collapsed
    assert has_tone(window(samples, rate, 0.3, 0.9), CALLER_HZ, rate)
    assert dbfs(window(samples, rate, 1.75, 2.25)) < -50  # the hold: silence
    assert has_tone(window(samples, rate, 3.2, 3.7), CALLEE_HZ, rate)


def test_a_transfer_by_the_callee_starts_a_second_segment_and_recording_in_the_same_call(
    world: ProxyWorld, peers: Peers, ports: dict[str, int]
) -> None:
    """Alice (201) answers, then transfers the caller to Carol (203) 2 s in: the caller keeps
    one RTP stream, hears Carol after Alice, and the call has two recorded segments."""
    carol = peers.callee(ports["203"], tone_hz=THIRD_HZ, seconds=5.0, name="carol")
    alice = peers.callee(ports["201"], "proxy_callee_refer.xml", seconds=5.0, hold_ms=2000,
                         keys={"transfer_to": "203"})  # fmt: skip
    caller = peers.call(world.port, "201", "+15550001", hold_ms=4500, seconds=5.0)
    assert alice.wait() == 0, alice.errors()
    assert carol.wait() == 0, carol.errors()  # got the caller's BYE
    assert caller.status() == ["200"]
    heard, ssrcs = caller.sink.audio()
    assert len(ssrcs) == 1
    assert has_tone(window(heard, RATE, 0.3, 1.7), CALLEE_HZ)
    assert has_tone(window(heard, RATE, 3.0, 4.0), THIRD_HZ)
    assert has_tone(window(carol.sink.audio()[0], RATE, 0.5, 1.5), CALLER_HZ)
    rows = world.wait_captured(2)
    assert rows[0].call_id == rows[1].call_id
    world.wait_idle()
    rows = world.process()
    assert [r.state for r in rows] == [RecordingState.READY] * 2
    with world.runtime.sessionmaker() as session:
        call = session.scalars(select(Call)).one()
        segments = sorted(session.scalars(select(Segment).where(Segment.call_id == call.id)),
                          key=lambda seg: seg.sequence)  # fmt: skip
        users = {u.id: u.display_name for u in session.scalars(select(User))}
    assert [(seg.sequence, seg.reason, users[seg.user_id or uuid.uuid4()]) for seg in segments] == [
        (1, "answered", "Alice"), (2, "transferred", "Carol")
    ]  # fmt: skip
    by_sequence = sorted(rows, key=lambda r: r.duration_ms or 0)
    second = max(rows, key=lambda r: r.created_at)
    rate, _, samples = decode(world.runtime.blobs.get_bytes(second.storage_key or ""))
    assert has_tone(window(samples, rate, 0.5, 1.5), THIRD_HZ, rate)
    assert has_tone(window(samples, rate, 0.5, 1.5), CALLER_HZ, rate)
    assert sum((r.duration_ms or 0) for r in by_sequence) / 1000 == pytest.approx(4.5, abs=0.7)


def test_parties_that_stop_sending_rtp_without_a_bye_are_hung_up(
    world: ProxyWorld, peers: Peers, ports: dict[str, int]
) -> None:
    """Both send 1 s of audio and then nothing: 2 s later the proxy BYEs both and the
    recording is finished."""
    callee = peers.callee(ports["201"], seconds=1.0)
    caller = peers.call(world.port, "201", "+15550001", scenario="proxy_caller_hung_up.xml",
                        seconds=1.0)  # fmt: skip
    assert callee.wait() == 0, callee.errors()  # both got the proxy's BYE
    assert caller.status() == ["200"]
    world.wait_captured()
    world.wait_idle()
    (ready,) = world.process()
    assert ready.state is RecordingState.READY, ready.failure_reason
    assert ready.duration_ms is not None and ready.duration_ms <= 4500
