"""A real SIPREC client (SIPp) records a call through our recording server, over UDP and TCP;
the test then checks the recording itself: its length, both parties' audio, the metadata, the
digit. Also: an SRC that is not allowed gets 403, a call the policy does not record gets 603."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from callrec.directory import schemas as s
from callrec.directory.service import DeviceService, OrgService, UserService
from callrec.kit.db import session_scope
from callrec.kit.settings import Settings
from callrec.models import Call, Org, Recording, RecordingState, Segment, User
from callrec.policy.types import Toggle
from callrec.telephony.runner import MediaThread
from callrec.telephony.srs import SrsConfig
from callrec.worker.bootstrap import build_runtime
from callrec.worker.queue import MemoryQueue
from callrec.worker.runtime import Runtime, set_runtime
from tests.dbs import migrated_engine, temp_database
from tests.recordings.audio import decode, window
from tests.telephony.rtp_pcap import Stream, write_pcap

SCENARIO = Path(__file__).parent / "sipp" / "siprec_src.xml"
SECONDS = 3.0
CALLER_HZ, CALLEE_HZ = 400.0, 1000.0


def _free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Srs:
    runtime: Runtime
    port: int
    media: MediaThread
    rtp_first: int  # the first port of its RTP range


@pytest.fixture
def sipp() -> str:
    found = shutil.which("sipp")
    if found is None:
        pytest.fail("SIPp (Debian package sip-tester) is not installed; `make test` installs it")
    return found


def _world(rt: Runtime) -> None:
    with session_scope(rt.sessionmaker) as session:
        org = OrgService(session).create(
            None, s.OrgCreate(name="Acme", slug="acme", licences_purchased=5)
        )
        org.rec_incoming = Toggle.ON
        alice = UserService(session).create(
            None, org.id, s.UserCreate(email="alice@acme.example.com", display_name="Alice",
                                       extension="201", has_licence=True),
        )  # fmt: skip
        DeviceService(session).create(
            None, org.id, s.DeviceCreate(user_id=alice.id, name="desk", sip_username="alice",
                                         aor="sip:alice@acme.example.com"),
        )  # fmt: skip
        UserService(session).create(
            None, org.id, s.UserCreate(email="bob@acme.example.com", display_name="Bob",
                                       extension="202", has_licence=False),
        )  # fmt: skip
        carol = UserService(session).create(
            None, org.id, s.UserCreate(email="carol@acme.example.com", display_name="Carol",
                                       extension="203", has_licence=True),
        )  # fmt: skip
        DeviceService(session).create(
            None, org.id, s.DeviceCreate(user_id=carol.id, name="desk", sip_username="carol",
                                         aor="sip:carol@acme.example.com"),
        )  # fmt: skip


def _start_media(
    rt: Runtime, allow: tuple[str, ...], rtp_timeout_s: float = 30.0
) -> tuple[MediaThread, int, int]:
    """SIP needs one port free for both UDP and TCP; a free-port probe can race with other
    processes, so a port taken meanwhile means another try, not a failed test."""
    for _ in range(10):
        port = _free_port(socket.SOCK_STREAM)
        base = 30000 + (port % 500) * 20
        config = SrsConfig(host="127.0.0.1", sip_port=port, rtp_first=base, rtp_last=base + 19,
                           allow=allow, org_slug="acme", rtp_timeout_s=rtp_timeout_s)  # fmt: skip
        media = MediaThread(rt, config)
        try:
            media.start()
        except OSError:
            media.abandon()
            continue
        return media, port, base
    raise AssertionError("no free SIP port after 10 tries")


def _srs(tmp_path: Path, allow: tuple[str, ...], rtp_timeout_s: float = 30.0) -> Iterator[Srs]:
    with temp_database(tmp_path) as url:
        migrated_engine(url).dispose()
        settings = Settings(data_dir=tmp_path / "data", database_url=url, log_json=True,
                            log_level="WARNING")  # fmt: skip
        rt = build_runtime(settings, queue=MemoryQueue())
        _world(rt)
        media, port, rtp_first = _start_media(rt, allow, rtp_timeout_s)
        try:
            yield Srs(rt, port, media, rtp_first)
        finally:
            media.stop()
            set_runtime(None)
            rt.sessionmaker.kw["bind"].dispose()


@pytest.fixture
def srs(tmp_path: Path) -> Iterator[Srs]:
    yield from _srs(tmp_path, ("127.0.0.0/8",))


@pytest.fixture
def closed_srs(tmp_path: Path) -> Iterator[Srs]:
    yield from _srs(tmp_path, ("192.0.2.0/24",))


def _run_sipp(
    sipp: str, srs: Srs, tmp_path: Path, transport: str, callee: str,
    scenario: Path = SCENARIO, seconds: float = SECONDS,
) -> None:  # fmt: skip
    work = tmp_path / f"sipp-{transport}-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    write_pcap(
        work / "streams.pcap",
        [Stream(6000, CALLER_HZ, 0x1111, dtmf=("5", 1.0)), Stream(6002, CALLEE_HZ, 0x2222)],
        seconds,
    )
    (work / "parties.csv").write_text(
        f"SEQUENTIAL\nsip:+15550001@sbc.example.com;External Caller;{callee};Callee;\n"
    )
    command = [
        sipp, "-sf", str(scenario), "-inf", "parties.csv", "-m", "1",
        "-t", "u1" if transport == "udp" else "t1", "-i", "127.0.0.1",
        "-p", str(_free_port(socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)),
        "-mi", "127.0.0.1", "-timeout", "30s", "-timeout_error", "-nostdin",
        "-trace_err", f"127.0.0.1:{srs.port}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=60)
    errors = "".join(p.read_text() for p in work.glob("*errors.log"))
    assert done.returncode == 0, f"sipp failed ({done.returncode}): {done.stdout[-2000:]}{errors}"


def _recordings(rt: Runtime) -> list[Recording]:
    with rt.sessionmaker() as session:
        rows = list(session.scalars(select(Recording)))
        for row in rows:
            session.expunge(row)
        return rows


def _wait_captured(rt: Runtime) -> Recording:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rows = _recordings(rt)
        if rows and rows[0].state is RecordingState.CAPTURED:
            return rows[0]
        time.sleep(0.05)
    raise AssertionError(f"no captured recording: {_recordings(rt)}")


def _drain(rt: Runtime, count: int = 1) -> list[Recording]:
    """Run the processing jobs of ``count`` captured recordings. A job is sent just after its
    capture's commit, so a capture seen a moment early is drained again."""
    assert isinstance(rt.queue, MemoryQueue)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rt.queue.drain(rt)
        rows = _recordings(rt)
        done = (RecordingState.READY, RecordingState.FAILED)
        if len(rows) >= count and all(r.state in done for r in rows):
            return rows
        time.sleep(0.05)
    raise AssertionError(f"not processed: {_recordings(rt)}")


def _strong_frequencies(samples: np.ndarray, rate: int) -> set[int]:
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return {round(float(f)) for f in freqs[spectrum > spectrum.max() / 5]}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipp_records_both_streams_through_the_srs(
    sipp: str, srs: Srs, tmp_path: Path, transport: str
) -> None:
    _run_sipp(sipp, srs, tmp_path, transport, "sip:alice@acme.example.com")
    captured = _wait_captured(srs.runtime)
    (digit,) = captured.events
    assert {**digit, "at_ms": 0} == {"type": "dtmf", "leg": "1", "digit": "5", "at_ms": 0,
                                     "duration_ms": 120}  # fmt: skip
    (ready,) = _drain(srs.runtime)
    assert ready.state is RecordingState.READY, ready.failure_reason
    assert ready.duration_ms is not None
    assert abs(ready.duration_ms - SECONDS * 1000) <= 100
    assert ready.decision_trace is not None and ready.decision_trace["record"] is True
    rate, channels, samples = decode(srs.runtime.blobs.get_bytes(ready.storage_key or ""))
    assert channels == 1
    # The digit is 1 s into the streams, which start where their first packet arrived (SIPp
    # may start them late on a busy machine): its place is measured from the audio's onset.
    onset_ms = int(np.argmax(np.abs(samples) > 0.01)) / rate * 1000
    assert digit["at_ms"] - onset_ms == pytest.approx(1000, abs=30)
    heard = _strong_frequencies(window(samples, rate, 1.3, 2.8), rate)
    assert any(abs(f - CALLER_HZ) < 10 for f in heard), heard
    assert any(abs(f - CALLEE_HZ) < 10 for f in heard), heard
    with srs.runtime.sessionmaker() as session:
        call = session.scalars(select(Call)).one()
        assert call.direction == "inbound"
        assert call.siprec_metadata is not None and "alice@acme.example.com" in call.siprec_metadata


def test_an_src_outside_the_allowlist_gets_403_and_nothing_is_recorded(
    sipp: str, closed_srs: Srs, tmp_path: Path
) -> None:
    _run_sipp(sipp, closed_srs, tmp_path, "udp", "sip:alice@acme.example.com")
    assert _recordings(closed_srs.runtime) == []


def test_a_call_the_policy_does_not_record_is_declined(sipp: str, srs: Srs, tmp_path: Path) -> None:
    _run_sipp(sipp, srs, tmp_path, "udp", "sip:202@acme.example.com")  # Bob: no licence
    assert _recordings(srs.runtime) == []
    with srs.runtime.sessionmaker() as session:
        assert session.scalars(select(Org)).one().slug == "acme"


def test_a_transfer_starts_a_second_segment_and_recording_in_the_same_call(
    sipp: str, srs: Srs, tmp_path: Path
) -> None:
    """Metadata in a re-INVITE replaces Alice with Carol two seconds in: Alice's recording ends,
    Carol's begins, both in one call, and both are processed."""
    scenario = SCENARIO.with_name("siprec_transfer.xml")
    _run_sipp(sipp, srs, tmp_path, "udp", "sip:alice@acme.example.com", scenario, 5.0)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rows = _recordings(srs.runtime)
        if len(rows) == 2 and all(r.state is RecordingState.CAPTURED for r in rows):
            break
        time.sleep(0.05)
    rows = _drain(srs.runtime, 2)
    assert [r.state for r in rows] == [RecordingState.READY] * 2
    assert rows[0].call_id == rows[1].call_id
    with srs.runtime.sessionmaker() as session:
        call = session.scalars(select(Call)).one()
        segments = sorted(
            session.scalars(select(Segment).where(Segment.call_id == call.id)),
            key=lambda seg: seg.sequence,
        )
        users = {u.id: u.display_name for u in session.scalars(select(User))}
    assert [(seg.sequence, seg.reason, users[seg.user_id or uuid.uuid4()]) for seg in segments] == [
        (1, "answered", "Alice"), (2, "transferred", "Carol")
    ]  # fmt: skip
    durations = sorted((r.duration_ms or 0) / 1000 for r in rows)
    assert durations[0] > 1.5  # Alice's part: about two seconds
    assert sum(durations) == pytest.approx(5.0, abs=0.6)  # together: the whole call
