"""Consent media through the recording proxy, between real SIPp peers: the announcement the
caller hears before the callee (a tone announcement, checked by its energy at the caller), the
ask-to-record answer (RFC 4733 digit, SIP INFO, no answer), and the compliance beep in both
directions and in the recording."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.kit.db import session_scope
from callrec.models import Announcement, ConsentSettings, NoAnswer, Org, RecordingState
from callrec.policy.types import AnnouncementMode, BeepMode, OutgoingMode
from tests.consent.factories import make_tone_announcement
from tests.recordings.audio import decode, window
from tests.telephony.proxy.harness import (
    CALLEE_HZ,
    CALLER_HZ,
    RATE,
    Peers,
    ProxyWorld,
    beep_onsets,
    has_tone,
    proxy_world,
    tone_level,
)

ANNOUNCEMENT_HZ, ANNOUNCEMENT_S = 1000.0, 1.5
BEEP_HZ, BEEP_S = 1400.0, 5


def _world(
    tmp_path: Path, callee_port: int, configure: Callable[[Session, ProxyWorld], None]
) -> Iterator[ProxyWorld]:
    for world in proxy_world(tmp_path, routes={"201": ("127.0.0.1", callee_port)},
                             upstream=("127.0.0.1", callee_port)):  # fmt: skip
        with session_scope(world.runtime.sessionmaker) as session:
            configure(session, world)
        yield world


def _announce_and_beep(session: Session, world: ProxyWorld) -> None:
    org = session.scalars(select(Org)).one()
    rt = world.runtime
    announcement = make_tone_announcement(
        session, rt.blobs, rt.settings, org, seconds=ANNOUNCEMENT_S, hz=ANNOUNCEMENT_HZ
    )
    org.rec_announcement = AnnouncementMode.PLAY
    org.rec_announcement_id = announcement.id
    org.rec_beep = BeepMode.ON
    org.rec_beep_interval_s = BEEP_S


def _ask(no_answer: NoAnswer) -> Callable[[Session, ProxyWorld], None]:
    def configure(session: Session, world: ProxyWorld) -> None:
        org = session.scalars(select(Org)).one()
        org.rec_outgoing_mode = OutgoingMode.ASK
        session.add(ConsentSettings(org_id=org.id, ask_timeout_s=2, no_answer=no_answer))

    return configure


@pytest.fixture
def announcing(tmp_path: Path, callee_port: int) -> Iterator[ProxyWorld]:
    yield from _world(tmp_path, callee_port, _announce_and_beep)


@pytest.fixture
def asking(tmp_path: Path, callee_port: int) -> Iterator[ProxyWorld]:
    yield from _world(tmp_path, callee_port, _ask(NoAnswer.DO_NOT_RECORD))


def _intervals(onsets: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(onsets)]


def test_the_caller_hears_the_announcement_then_the_callee_with_beeps_heard_by_both_and_recorded(
    announcing: ProxyWorld, peers: Peers, callee_port: int
) -> None:
    world = announcing
    seconds = 11.5
    callee = peers.callee(callee_port, seconds=seconds)
    caller = peers.call(world.port, "201", "+15550001", hold_ms=int(seconds * 1000),
                        seconds=seconds)  # fmt: skip
    assert callee.wait() == 0, callee.errors()
    assert caller.status() == ["200"]

    heard, ssrcs = caller.sink.audio()
    assert len(ssrcs) == 1  # one stream from the proxy: announcement, then the callee
    announcement = window(heard, RATE, 0.1, ANNOUNCEMENT_S - 0.1)
    assert tone_level(announcement, ANNOUNCEMENT_HZ) > 0.05
    assert tone_level(announcement, CALLEE_HZ) < 0.01  # the callee was not called yet
    after = window(heard, RATE, ANNOUNCEMENT_S + 1.0, ANNOUNCEMENT_S + 3.0)
    assert has_tone(after, CALLEE_HZ) and tone_level(after, ANNOUNCEMENT_HZ) < 0.01

    # Beeps every BEEP_S seconds from the bridge, within 20 ms, in what both parties hear.
    bridged = heard[int((ANNOUNCEMENT_S + 0.3) * RATE) :]
    to_caller = beep_onsets(bridged, BEEP_HZ)
    to_callee = beep_onsets(callee.sink.audio()[0], BEEP_HZ)
    for onsets in (to_caller, to_callee):
        assert len(onsets) == 2, onsets
        assert all(abs(i - BEEP_S) <= 0.02 for i in _intervals(onsets)), onsets

    (captured,) = world.wait_captured()
    assert captured.consent_evidence is not None
    played = captured.consent_evidence["announcement"]
    with world.runtime.sessionmaker() as session:
        stored = session.scalars(select(Announcement)).one()
    assert played["id"] == str(stored.id) and played["name"] == stored.name
    assert played["played"] == "complete" and abs(played["played_ms"] - stored.duration_ms) <= 40
    assert captured.consent_evidence["ask"] is None
    assert captured.consent_evidence["beep_interval_s"] == BEEP_S
    (ready,) = world.process()
    assert ready.state is RecordingState.READY, ready.failure_reason
    rate, channels, samples = decode(world.runtime.blobs.get_bytes(ready.storage_key or ""))
    assert channels == 1
    assert ready.duration_ms is not None and abs(ready.duration_ms - seconds * 1000) <= 600
    middle = window(samples, rate, 1.0, 4.0)
    assert has_tone(middle, CALLER_HZ, rate) and has_tone(middle, CALLEE_HZ, rate)
    recorded = beep_onsets(samples.astype(np.float64), BEEP_HZ, rate)
    assert len(recorded) == 2, recorded
    assert all(abs(i - BEEP_S) <= 0.02 for i in _intervals(recorded)), recorded
    # The first beep: N seconds into the recording, give or take how far the callee's own clock
    # (its RTP timestamps, which the beep follows) lags the wall clock on a loaded machine.
    assert abs(recorded[0] - BEEP_S) <= 0.5


def _ask_call(world: ProxyWorld, peers: Peers, callee_port: int, **kwargs: object):  # type: ignore[no-untyped-def]
    callee = peers.callee(callee_port, seconds=2.5)
    caller = peers.call(world.port, "+15559999", "201", hold_ms=2500, seconds=2.5,
                        **kwargs)  # type: ignore[arg-type]  # fmt: skip
    assert callee.wait() == 0, callee.errors()
    assert caller.status() == ["200"]
    heard, _ = caller.sink.audio()
    assert has_tone(window(heard, RATE, len(heard) / RATE - 2.0, len(heard) / RATE - 0.3),
                    CALLEE_HZ)  # connected in every case  # fmt: skip
    assert has_tone(window(callee.sink.audio()[0], RATE, 0.5, 2.0), CALLER_HZ)
    world.wait_idle()
    return heard


def test_ask_answered_1_by_rfc4733_is_recorded(
    asking: ProxyWorld, peers: Peers, callee_port: int
) -> None:
    heard = _ask_call(asking, peers, callee_port, scenario="proxy_caller_ask.xml", dtmf="1",
                      dtmf_at=0.6)  # fmt: skip
    assert float(np.sqrt(np.mean(np.square(heard[: RATE // 2])))) > 0.01  # the prompt
    (captured,) = asking.wait_captured()
    ask = (captured.consent_evidence or {})["ask"]
    assert (ask["answer"], ask["digit"], ask["via"]) == ("record", "1", "rfc4733")
    assert ask["answered_at"].endswith("Z")


def test_ask_answered_0_by_sip_info_connects_without_recording(
    asking: ProxyWorld, peers: Peers, callee_port: int
) -> None:
    peers_key = {"scenario": "proxy_caller_ask_info.xml", "digit": "0"}
    _ask_call(asking, peers, callee_port, **peers_key)
    assert asking.recordings() == []


def test_an_unanswered_ask_prompt_takes_the_configured_default(
    asking: ProxyWorld, peers: Peers, callee_port: int
) -> None:
    """This org's default is do-not-record: no digit, the call connects unrecorded."""
    _ask_call(asking, peers, callee_port, scenario="proxy_caller_ask.xml", dtmf=None)
    assert asking.recordings() == []
