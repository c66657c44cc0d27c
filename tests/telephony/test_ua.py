"""The demo's and benchmarks' SIP user agent against real peers: our caller against a SIPp
callee and our callee against a SIPp caller, with audio checked in both directions (SIPp plays a
tone from a pcap and, with -rtp_echo, sends our own audio back: proof that it arrived); early
media, a BYE from either side, a busy callee; key presses (RFC 4733 and INFO) and CANCEL between
our own caller and callee."""

from __future__ import annotations

import asyncio
import itertools
import socket
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest

from callrec.media import g711
from callrec.media.dtmf import DtmfEvent
from callrec.telephony.ua import Answer, CalleeAgent, Caller, RtpLeg, SipEndpoint, tone
from tests.telephony.rtp_pcap import Stream, write_pcap
from tests.telephony.test_siprec_sipp import sipp  # noqa: F401

SCENARIOS = Path(__file__).parent / "sipp"
SIPP_SSRC = 0x2222
SIPP_HZ, OUR_HZ = 1000.0, 400.0
LOCAL = "127.0.0.1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCAL, 0))
        return int(sock.getsockname()[1])


def _free_media_port() -> int:
    """SIPp's -rtp_echo binds the media port and the one two above it."""
    while True:
        port = _free_port() & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
                a.bind((LOCAL, port))
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                    b.bind((LOCAL, port + 2))
                    return port
        except OSError:
            continue


def _dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / 8000)[int(spectrum.argmax())])


class Sipp:
    def __init__(self, binary: str, work: Path, scenario: str, *args: str) -> None:
        work.mkdir(parents=True, exist_ok=True)
        write_pcap(work / "tone.pcap", [Stream(6000, SIPP_HZ, SIPP_SSRC)], 2.0)
        self.work, self.port = work, _free_port()
        command = [
            binary, "-sf", str(SCENARIOS / scenario), "-i", LOCAL, "-p", str(self.port),
            "-mi", LOCAL, "-mp", str(_free_media_port()), "-rtp_echo", "-m", "1",
            "-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err", *args,
        ]  # fmt: skip
        with (work / "sipp.out").open("wb") as out:
            self.process = subprocess.Popen(command, cwd=work, stdout=out, stderr=out)

    async def finished(self) -> None:
        code = await asyncio.to_thread(self.process.wait, 60)
        output = (self.work / "sipp.out").read_text(errors="replace")
        errors = "".join(p.read_text() for p in self.work.glob("*errors.log"))
        assert code == 0, f"sipp failed ({code}): {output[-1500:]}{errors}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _run(test: Callable[[SipEndpoint], Awaitable[None]]) -> None:
    async def main() -> None:
        endpoint = await SipEndpoint.open(LOCAL)
        try:
            await test(endpoint)
        finally:
            await endpoint.close()

    asyncio.run(main())


def _assert_heard_both_ways(leg: RtpLeg, seconds: float) -> None:
    """The peer's tone from its pcap, and our own tone echoed back by the peer."""
    theirs, ours = leg.heard(SIPP_SSRC), leg.heard(leg.ssrc)
    assert len(theirs) >= 0.9 * seconds * 8000
    assert _dominant_hz(theirs) == pytest.approx(SIPP_HZ, abs=5)
    assert len(ours) >= 8000
    assert _dominant_hz(ours) == pytest.approx(OUR_HZ, abs=5)


def test_our_caller_talks_with_a_sipp_callee(sipp: str, tmp_path: Path) -> None:  # noqa: F811
    peer = Sipp(sipp, tmp_path / "sipp", "ua_uas.xml")

    async def call(endpoint: SipEndpoint) -> None:
        caller = Caller(endpoint, (LOCAL, peer.port), "sip:201@acme.example.com",
                        "sip:+15550001@trunk.example.com", audio=tone(OUR_HZ, 1.0))  # fmt: skip
        await caller.start()
        try:
            assert await caller.wait_answer() == 200
            assert 180 in caller.provisional
            await asyncio.sleep(2.5)  # the pcap lasts 2 s
            assert await caller.hang_up() == 200
            await peer.finished()
        finally:
            await caller.close()
            peer.kill()
        assert caller.ended_by == "us"
        assert caller.leg is not None
        _assert_heard_both_ways(caller.leg, 2.0)

    _run(call)


def test_our_caller_hears_early_media_and_takes_the_callees_bye(
    sipp: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    peer = Sipp(sipp, tmp_path / "sipp", "ua_uas_early_bye.xml")

    async def call(endpoint: SipEndpoint) -> None:
        caller = Caller(endpoint, (LOCAL, peer.port), "sip:201@acme.example.com",
                        "sip:+15550001@trunk.example.com", audio=tone(OUR_HZ, 1.0))  # fmt: skip
        await caller.start()
        try:
            await caller.wait_early()
            assert await caller.wait_answer() == 200
            answered_at = asyncio.get_running_loop().time()
            await caller.wait_ended(10)
            await peer.finished()
        finally:
            await caller.close()
            peer.kill()
        assert caller.ended_by == "them"
        assert caller.provisional[-1] == 183
        assert caller.leg is not None
        early = [r for r in caller.leg.audio_packets(SIPP_SSRC) if r.at < answered_at]
        assert len(early) >= 50  # the 183's 1.5 s of early media: the tone, before the answer
        heard = np.concatenate([g711.decode(r.payload_type, r.payload) for r in early])
        assert _dominant_hz(heard) == pytest.approx(SIPP_HZ, abs=5)

    _run(call)


def test_our_caller_acknowledges_a_busy_callee(sipp: str, tmp_path: Path) -> None:  # noqa: F811
    peer = Sipp(sipp, tmp_path / "sipp", "ua_uas_busy.xml")

    async def call(endpoint: SipEndpoint) -> None:
        caller = Caller(endpoint, (LOCAL, peer.port), "sip:201@acme.example.com",
                        "sip:+15550001@trunk.example.com")  # fmt: skip
        await caller.start()
        try:
            assert await caller.wait_answer() == 486
            await peer.finished()  # it got its ACK
        finally:
            await caller.close()
            peer.kill()
        assert caller.ended_by == "failure"

    _run(call)


def test_our_callee_answers_a_sipp_caller(sipp: str, tmp_path: Path) -> None:  # noqa: F811
    async def call(endpoint: SipEndpoint) -> None:
        agent = CalleeAgent(endpoint, Answer(audio=tone(OUR_HZ, 1.0)))
        peer = Sipp(sipp, tmp_path / "sipp", "ua_uac.xml", "-s", "201", f"{LOCAL}:{endpoint.port}")
        try:
            callee = await agent.next_call()
            await callee.wait_ended(15)
            await peer.finished()
        finally:
            await agent.close()
            peer.kill()
        assert callee.ended_by == "them" and callee.acked
        assert callee.request_uri.startswith("sip:201@")
        assert callee.leg is not None
        _assert_heard_both_ways(callee.leg, 2.0)

    _run(call)


def test_our_callee_hangs_up_on_a_sipp_caller(sipp: str, tmp_path: Path) -> None:  # noqa: F811
    async def call(endpoint: SipEndpoint) -> None:
        agent = CalleeAgent(endpoint, Answer(audio=tone(OUR_HZ, 1.0), hang_up_after_s=2.5))
        peer = Sipp(sipp, tmp_path / "sipp", "ua_uac_hung_up.xml", "-s", "201",
                    f"{LOCAL}:{endpoint.port}")  # fmt: skip
        try:
            callee = await agent.next_call()
            await callee.wait_ended(15)
            await peer.finished()  # it got our BYE and answered it
        finally:
            await agent.close()
            peer.kill()
        assert callee.ended_by == "us"
        assert callee.leg is not None
        _assert_heard_both_ways(callee.leg, 2.0)

    _run(call)


def test_key_presses_as_rfc4733_events_and_as_info() -> None:
    async def call(endpoint: SipEndpoint) -> None:
        far = await SipEndpoint.open(LOCAL)
        agent = CalleeAgent(far, Answer(audio=tone(OUR_HZ, 1.0)))
        caller = Caller(endpoint, (LOCAL, far.port), "sip:201@acme.example.com",
                        "sip:+15550001@trunk.example.com", audio=tone(SIPP_HZ, 1.0))  # fmt: skip
        await caller.start()
        try:
            assert await caller.wait_answer() == 200
            await caller.press("1")
            await caller.press("0", via="info")
            await caller.press("#", frames=5)
            await asyncio.sleep(0.2)
            assert await caller.hang_up() == 200
            (callee,) = agent.calls
            await callee.wait_ended(5)
        finally:
            await caller.close()
            await agent.close()
            await far.close()
        assert callee.leg is not None and callee.ended_by == "them"
        presses = callee.leg.digits()
        assert [(d.digit, d.duration_samples) for d in presses] == [("1", 1280), ("#", 800)]
        events = [r for r in callee.leg.received if r.payload_type == 101]
        first = [r for r in events if r.timestamp == presses[0].start_ts]
        assert len(first) == 8 + 3  # 8 updates, the end three times, all at the press's timestamp
        assert [r.marker for r in first] == [True] + [False] * 10
        parsed = [DtmfEvent.parse(r.payload) for r in first]
        assert [e.duration for e in parsed] == [160 * n for n in range(1, 9)] + [1280] * 3
        assert [e.end for e in parsed] == [False] * 8 + [True] * 3
        seqs = [r.sequence for r in callee.leg.received]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
        assert callee.infos == [b"Signal=0\r\nDuration=160\r\n"]

    _run(call)


def test_a_cancel_while_ringing_ends_the_call_with_487() -> None:
    async def call(endpoint: SipEndpoint) -> None:
        far = await SipEndpoint.open(LOCAL)
        agent = CalleeAgent(far, Answer(ring_s=3.0))
        caller = Caller(endpoint, (LOCAL, far.port), f"sip:201@{uuid.uuid4().hex[:6]}.example",
                        "sip:+15550001@trunk.example.com")  # fmt: skip
        await caller.start()
        try:
            callee = await agent.next_call()
            await asyncio.sleep(0.3)
            assert await caller.hang_up() == 487
            await callee.wait_ended(5)
        finally:
            await caller.close()
            await agent.close()
            await far.close()
        assert callee.ended_by == "cancel" and callee.leg is None
        assert caller.provisional == [100, 180]

    _run(call)
