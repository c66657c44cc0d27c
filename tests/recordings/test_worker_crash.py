"""kill -9 a real worker process in the middle of processing: after a restart the job
completes, no scratch or temp files are left, and there is still exactly one recording."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from callrec.calls.schemas import CallCreate, SegmentIn
from callrec.calls.service import CallService
from callrec.directory import schemas as s
from callrec.directory.service import DeviceService, OrgService, UserService
from callrec.kit.db import session_scope
from callrec.kit.settings import Settings
from callrec.media.synth import write_call
from callrec.models import CallDirection, Recording, RecordingState
from callrec.recordings.importer import describe
from callrec.recordings.service import RecordingService
from callrec.recordings.upload import store_source
from callrec.worker.bootstrap import build_runtime
from callrec.worker.runtime import Runtime, set_runtime
from tests.dbs import migrated_engine, temp_database

CALL_SECONDS = 90 * 60  # long enough that processing takes seconds, so the kill lands inside


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _queue_recording(rt: Runtime, capture: Path) -> str:
    started = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    ended = started + timedelta(seconds=CALL_SECONDS)
    with session_scope(rt.sessionmaker) as session:
        org = OrgService(session).create(
            None, s.OrgCreate(name="Crash", slug="crash", licences_purchased=1)
        )
        user = UserService(session).create(
            None, org.id, s.UserCreate(email="u@crash.example.com", display_name="U",
                                       has_licence=True, extension="201")
        )  # fmt: skip
        DeviceService(session).create(
            None, org.id, s.DeviceCreate(user_id=user.id, name="phone", sip_username="u",
                                         aor="sip:u@crash.example.com")
        )  # fmt: skip
        call, _ = CallService(session).create(
            None,
            org.id,
            CallCreate(
                external_id="crash-1", direction=CallDirection.INBOUND, started_at=started,
                ended_at=ended,
                segments=[SegmentIn(sequence=1, extension="201", started_at=started,
                                    ended_at=ended)],
            ),
        )  # fmt: skip
        source = store_source(rt.blobs, org.id, call.id, 1, describe(capture))
        recording, _ = RecordingService(session, rt.clock, rt.settings).attach_source(
            None, org.id, call.id, 1, source
        )
        return str(recording.id)


def _state(rt: Runtime, rid: str) -> Recording:
    with rt.sessionmaker() as session:
        recording = session.get(Recording, uuid.UUID(rid))
        assert recording is not None
        session.expunge(recording)
        return recording


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "callrec", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_worker_killed_mid_job_finishes_after_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with temp_database(tmp_path) as url:
        migrated_engine(url).dispose()
        env = {
            **os.environ,
            "CALLREC_DATA_DIR": str(data),
            "CALLREC_DATABASE_URL": url,
            "CALLREC_PROCESSING_LEASE_S": "2",
        }
        settings = Settings(data_dir=data, database_url=url, processing_lease_s=2)
        rt = build_runtime(settings)
        try:
            capture = tmp_path / "call.crec"
            write_call(capture, CALL_SECONDS, seed=7)
            rid = _queue_recording(rt, capture)
            work = data / "work" / rid

            first = _start_worker(env)
            try:
                _wait_for(
                    "the worker to be processing",
                    lambda: _state(rt, rid).state is RecordingState.PROCESSING and work.exists(),
                    timeout=60,
                )
                time.sleep(0.3)  # well inside the encode, past the claim
            finally:
                os.kill(first.pid, signal.SIGKILL)
                first.wait(10)
            assert _state(rt, rid).state is RecordingState.PROCESSING
            assert work.exists(), "the killed worker left its scratch directory"

            # A restarted worker re-sends what a dead one held once its lease has run out
            # (the periodic recovery would do the same within a minute).
            _wait_for(
                "the dead worker's lease to run out",
                lambda: (
                    (_state(rt, rid).lease_until or datetime.max.replace(tzinfo=UTC))
                    < datetime.now(UTC)
                ),
                timeout=10,
            )
            second = _start_worker(env)
            try:
                _wait_for(
                    "the recording to be ready",
                    lambda: _state(rt, rid).state is RecordingState.READY,
                    timeout=120,
                )
            finally:
                second.terminate()
                second.wait(10)

            done = _state(rt, rid)
            assert done.attempts == 2
            assert done.duration_ms is not None
            assert abs(done.duration_ms - CALL_SECONDS * 1000) <= 40
            assert done.storage_key is not None
            assert rt.blobs.sha256(done.storage_key) == done.sha256
            with rt.sessionmaker() as session:
                count = session.scalar(select(func.count()).select_from(Recording))
            assert count == 1
            assert not work.exists()
            leftovers = [p for p in data.rglob("*") if p.name.startswith((".tmp-", ".upload-"))]
            assert leftovers == []
        finally:
            set_runtime(None)
            rt.sessionmaker.kw["bind"].dispose()
