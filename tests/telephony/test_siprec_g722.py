"""Wideband calls: G.722 RTP through the call recorder (loss and reordering keep their places),
and a real SIPREC client (SIPp) that offers G.722, is answered G.722 and sends two G.722 streams
with different tones; the processed recording is checked for its rate (16 kHz: wideband kept),
its length and both tones."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from callrec.media import g722
from callrec.media.mixdown import render_capture
from callrec.models import RecordingState
from callrec.telephony.recorder import CallRecorder
from tests.media.synth import dominant, level
from tests.recordings.audio import decode, window
from tests.telephony.rtp_pcap import PT_G722, Stream, write_pcap
from tests.telephony.test_siprec_sipp import (
    Srs,
    _drain,
    _free_port,
    _srs,
    _strong_frequencies,
    _wait_captured,
)

SCENARIO = Path(__file__).parent / "sipp" / "siprec_src_g722.xml"
RATE, FRAME = 8000, 160
SECONDS = 3.0
CALLER_HZ, CALLEE_HZ = 400.0, 1000.0


@pytest.fixture
def sipp_binary() -> str:
    found = shutil.which("sipp")
    if found is None:
        pytest.fail("SIPp (Debian package sip-tester) is not installed; `make test` installs it")
    return found


@pytest.fixture
def wideband_srs(tmp_path: Path) -> Iterator[Srs]:
    yield from _srs(tmp_path, ("127.0.0.0/8",))


def g722_tone(hz: float, frames: int) -> bytes:
    t = np.arange(frames * FRAME * 2) / (2 * RATE)
    return g722.encode((0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16))


def rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def phase(samples: np.ndarray, hz: float, start: int) -> float:
    """Phase of the ``hz`` component, referred to sample 0 of the timeline: the same for any
    stretch of one unbroken tone, different if audio moved in time."""
    n = np.arange(start, start + len(samples))
    return float(np.angle(np.dot(samples, np.exp(-2j * np.pi * hz * n / RATE))))


def test_g722_rtp_is_recorded_on_the_timeline_with_loss_and_reordering(tmp_path: Path) -> None:
    # 1003 Hz: a shift by any whole number of samples, or by the 200 ms lost, changes its phase.
    caller_hz, callee_hz = 400.0, 1003.0
    path = tmp_path / "call.crec"
    recorder = CallRecorder(path, ["caller", "callee"], [101, 101], started_at_ms=0)
    audio_a, audio_b = g722_tone(caller_hz, 150), g722_tone(callee_hz, 150)
    packets = []
    for f in range(150):
        at = f * 0.02
        a = audio_a[f * FRAME : (f + 1) * FRAME]
        packets.append((at, 0, rtp(PT_G722, 1000 + f, 50_000 + f * FRAME, 11, a)))
        if not 50 <= f < 60:  # the callee loses 200 ms, 1.0 s to 1.2 s
            b = audio_b[f * FRAME : (f + 1) * FRAME]
            # Sequence numbers and timestamps both wrap within the first second.
            packets.append((at, 1, rtp(PT_G722, 65530 + f, 2**32 - 4000 + f * FRAME, 22, b)))
    rng = random.Random(9)
    for i in range(0, len(packets) - 6, 6):  # reordered within 60 ms
        chunk = packets[i : i + 6]
        rng.shuffle(chunk)
        packets[i : i + 6] = chunk
    packets += packets[100:104]  # late duplicates
    for at, leg, data in packets:
        recorder.on_packet(leg, data, at)
    recorder.close()

    chunks = list(render_capture(path, window_s=0.7))
    a = np.concatenate([c.legs[0] for c in chunks])
    b = np.concatenate([c.legs[1] for c in chunks])
    assert len(a) == len(b) == 150 * FRAME  # 3 s: loss does not shorten it
    assert dominant(a[800:]) == pytest.approx(caller_hz, abs=5)
    assert level(a[800:], caller_hz) > 0.9 * 0.3 * 32767
    assert dominant(b[800:7900]) == pytest.approx(callee_hz, abs=5)
    assert not b[RATE + 24 : RATE + 1576].any()  # the lost 200 ms, but for the filter's ring
    # After the gap the tone goes on in phase with itself before it: nothing moved in time.
    before, after = slice(800, 7900), slice(int(1.4 * RATE), int(2.9 * RATE))
    drift = phase(b[after], callee_hz, after.start) - phase(b[before], callee_hz, before.start)
    assert abs(np.angle(np.exp(1j * drift))) < 0.2  # one sample would be 0.79 rad
    assert level(b[after], callee_hz) > 0.9 * 0.3 * 32767
    stats = recorder.stats()
    assert stats["callee"].lost == 10 and stats["caller"].lost == 0


def test_sipp_records_two_g722_streams_through_the_srs(
    sipp_binary: str, wideband_srs: Srs, tmp_path: Path
) -> None:
    sipp, srs = sipp_binary, wideband_srs
    work = tmp_path / f"sipp-g722-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    write_pcap(
        work / "streams.pcap",
        [Stream(6000, CALLER_HZ, 0x1111, dtmf=("7", 1.0), payload_type=PT_G722),
         Stream(6002, CALLEE_HZ, 0x2222, payload_type=PT_G722)],
        SECONDS,
    )  # fmt: skip
    (work / "parties.csv").write_text(
        "SEQUENTIAL\nsip:+15550001@sbc.example.com;External Caller;"
        "sip:alice@acme.example.com;Alice;\n"
    )
    command = [
        sipp, "-sf", str(SCENARIO), "-inf", "parties.csv", "-m", "1", "-t", "u1",
        "-i", "127.0.0.1", "-p", str(_free_port()), "-mi", "127.0.0.1",
        "-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err", f"127.0.0.1:{srs.port}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=60)
    errors = "".join(p.read_text() for p in work.glob("*errors.log"))
    # The scenario fails the call unless the 200 OK answered G.722 on both streams.
    assert done.returncode == 0, f"sipp failed ({done.returncode}): {done.stdout[-2000:]}{errors}"

    captured = _wait_captured(srs.runtime)
    # The digit is 1 s into the streams; the streams start when SIPp gets round to playing them
    # after the ACK, which a loaded machine delays by tens of milliseconds.
    (digit,) = captured.events or []
    assert {**digit, "at_ms": 0} == {"type": "dtmf", "leg": "1", "digit": "7", "at_ms": 0,
                                     "duration_ms": 120}, digit  # fmt: skip
    assert 970 <= digit["at_ms"] <= 1200, digit
    (ready,) = _drain(srs.runtime)
    assert ready.state is RecordingState.READY, ready.failure_reason
    assert ready.duration_ms is not None
    assert abs(ready.duration_ms - SECONDS * 1000) <= 100
    rate, channels, samples = decode(srs.runtime.blobs.get_bytes(ready.storage_key or ""))
    assert channels == 1
    assert rate == ready.sample_rate == 16000  # G.722 throughout: the recording stays wideband
    heard = _strong_frequencies(window(samples, rate, 1.3, 2.8), rate)
    assert any(abs(f - CALLER_HZ) < 10 for f in heard), heard
    assert any(abs(f - CALLEE_HZ) < 10 for f in heard), heard
    assert not any(1100 < f < 8000 for f in heard), heard  # nothing else: no noise, no artefacts
