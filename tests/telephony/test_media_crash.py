"""kill -9 the media server in the middle of a SIPREC call: at most the last second of audio is
lost, and the partial recording is recovered and processed when the server restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from callrec.kit.settings import Settings
from callrec.models import Recording, RecordingState
from callrec.recordings.tasks import process
from callrec.worker.bootstrap import build_runtime
from callrec.worker.queue import MemoryQueue
from callrec.worker.runtime import Runtime, set_runtime
from tests.dbs import migrated_engine, temp_database
from tests.telephony.rtp_pcap import Stream, write_pcap
from tests.telephony.test_siprec_sipp import SCENARIO, _free_port, _world, sipp  # noqa: F401

KILL_AFTER_S = 2.0


def _recording(rt: Runtime) -> Recording | None:
    with rt.sessionmaker() as session:
        row = session.scalars(select(Recording)).first()
        if row is not None:
            session.expunge(row)
        return row


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _media(env: dict[str, str], port: int, base: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "callrec", "media", "--sip-port", str(port),
         "--rtp-ports", f"{base}-{base + 19}", "--org", "acme"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_killed_media_server_loses_at_most_a_second(sipp: str, tmp_path: Path) -> None:  # noqa: F811
    data = tmp_path / "data"
    with temp_database(tmp_path) as url:
        migrated_engine(url).dispose()
        settings = Settings(data_dir=data, database_url=url, log_level="WARNING")
        rt = build_runtime(settings, queue=MemoryQueue())
        try:
            _world(rt)
            env = {**os.environ, "CALLREC_DATA_DIR": str(data), "CALLREC_DATABASE_URL": url}
            port = _free_port(socket.SOCK_STREAM)
            base = 31000 + (port % 100) * 20
            media = _media(env, port, base)
            work = tmp_path / "sipp"
            work.mkdir()
            write_pcap(
                work / "streams.pcap", [Stream(6000, 400.0, 1), Stream(6002, 1000.0, 2)], 3.0
            )
            (work / "parties.csv").write_text(
                "SEQUENTIAL\nsip:+15550001@sbc.example.com;Caller;sip:alice@acme.example.com;A;\n"
            )
            time.sleep(1.0)  # the server binds its ports
            client = subprocess.Popen(
                [sipp, "-sf", str(SCENARIO), "-inf", "parties.csv", "-m", "1", "-t", "u1",
                 "-i", "127.0.0.1", "-p", str(_free_port()), "-mi", "127.0.0.1",
                 "-timeout", "20s", "-nostdin", f"127.0.0.1:{port}"],
                cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                _wait("the recording to start", lambda: _recording(rt) is not None, 15)
                started = time.monotonic()
                time.sleep(KILL_AFTER_S)
                os.kill(media.pid, signal.SIGKILL)
                media.wait(10)
                killed_after = time.monotonic() - started
                client.kill()  # its BYE would go unanswered: an SBC gives up the same way
                client.wait(10)
            finally:
                if client.poll() is None:
                    client.kill()
                    client.wait(10)
            recording = _recording(rt)
            assert recording is not None and recording.state is RecordingState.CAPTURING

            restarted = _media(env, _free_port(socket.SOCK_STREAM), base + 20)
            try:
                # Recovery marks the capture done, then removes its spool file: wait for both.
                _wait("the capture to be recovered",
                      lambda: (r := _recording(rt)) is not None
                      and r.state is RecordingState.CAPTURED
                      and not list((data / "spool").glob("*.crec")), 20)  # fmt: skip
            finally:
                restarted.terminate()
                restarted.wait(10)
            process(rt, str(recording.id))
            done = _recording(rt)
            assert done is not None and done.state is RecordingState.READY, done
            assert done.duration_ms is not None
            kept_s = done.duration_ms / 1000
            assert killed_after - 1.0 - 0.3 <= kept_s <= killed_after + 0.3, (kept_s, killed_after)
            assert list((data / "spool").glob("*.crec")) == []
        finally:
            set_runtime(None)
            rt.sessionmaker.kw["bind"].dispose()
