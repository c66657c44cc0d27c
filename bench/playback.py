"""Playback benchmark (issue 6): time to first byte of Range requests on a 4-hour recording.

A real 4-hour MP3 (8 kHz mono, 32 kbit/s, ~57 MB; encoded once from one minute of speech-like
audio repeated frame-exactly) sits in a filesystem blob store. The real app runs under uvicorn
in a separate process on SQLite. 50 clients (asyncio, httpx) each start a listening session
(POST /recordings/{id}/playback, the audited signed URL) and then behave like a seeking player:
jump to a random offset, ask for an open range ``bytes=N-`` the way an audio element does, read
the first chunk and abort the rest (as the element does when the listener seeks again), pause
0.5-1.5 s (a listener seeking about once a second), repeat; each listener's first seek comes
at a random moment in the first second, as independent listeners' would. One request in ten
is a closed 64 KiB range. TTFB is from sending the request to the first body byte.

Also measured in the same run, without pauses: the same requests back to back from all clients
(saturation throughput and its TTFB), so the headroom behind the paced figure is visible.

Target: paced p95 <= 20 ms. Usage: python bench/playback.py [--quick]. Last line: one JSON
object. The machine is shared: the 1-minute load average before and after is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import lameenc  # type: ignore[import-not-found]
import numpy as np
from alembic import command

from callrec.access.rules import ManagementScope, PlaybackScope, Role
from callrec.access.service import AuthService, build_actor
from callrec.calls.schemas import CallCreate
from callrec.calls.service import CallService
from callrec.cli import alembic_config
from callrec.directory import schemas as s
from callrec.directory.service import OrgService, UserService
from callrec.kit.clock import SystemClock
from callrec.kit.db import make_engine, make_sessionmaker, session_scope
from callrec.models import Recording, RecordingState, User
from callrec.storage import FilesystemBlobStore

SEED = 20261201
TARGET_P95_MS = 20.0
RATE = 8000


def make_mp3(path: Path, seconds: int) -> None:
    """``seconds`` of MP3, written once: a minute encoded, then repeated whole. A fresh LAME
    encoder starts without bit-reservoir debt, so each minute decodes on its own and the
    concatenation is a valid stream."""
    rng = np.random.default_rng(SEED)
    t = np.arange(RATE * 60) / RATE
    # Speech-like: a wandering pitch with syllable-rate amplitude, plus a little noise.
    voice = np.sin(2 * np.pi * (180 + 40 * np.sin(2 * np.pi * 0.3 * t)) * t)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    pcm = (voice * envelope * 9000 + rng.normal(0, 300, t.size)).astype(np.int16)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(32)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(1)
    encoder.set_quality(7)
    minute = bytes(encoder.encode(pcm.tobytes()) + encoder.flush())
    with path.open("wb") as out:
        for _ in range(seconds // 60):
            out.write(minute)


def populate(url: str, blobs_root: Path, audio: Path, seconds: int) -> tuple[str, str, int]:
    """An org, a listener with the 'all' scope, a 4-hour call with its ready recording.
    Returns (recording id, the listener's API token, size)."""
    command.upgrade(alembic_config(url), "head")
    factory = make_sessionmaker(make_engine(url))
    started = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    with session_scope(factory) as session:
        org = OrgService(session).create(None, s.OrgCreate(name="Bench", slug="bench",
                                                           licences_purchased=10))  # fmt: skip
        user = UserService(session).create(None, org.id, s.UserCreate(
            email="listener@bench.example.com", display_name="Listener", has_licence=True,
            role=Role.USER, management_scope=ManagementScope.ME,
            playback_scope=PlaybackScope.ALL,
        ))  # fmt: skip
        end = started + timedelta(seconds=seconds)
        call, _ = CallService(session).create(None, org.id, CallCreate.model_validate({
            "external_id": "bench-4h", "direction": "inbound", "from_number": "+441632960001",
            "to_number": "201", "started_at": started, "ended_at": end,
            "segments": [{"sequence": 1, "user_id": user.id, "started_at": started,
                          "ended_at": end}],
        }))  # fmt: skip
        session.flush()
        key = f"recordings/{org.id}/bench/audio.mp3"
        FilesystemBlobStore(blobs_root).put_file(key, audio)
        digest = hashlib.sha256()
        with audio.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        size = audio.stat().st_size
        recording = Recording(
            org_id=org.id, call_id=call.id, segment_id=call.segments[0].id,
            state=RecordingState.READY, format="mp3", sample_rate=RATE, channels=1,
            duration_ms=seconds * 1000, size_bytes=size, sha256=digest.hexdigest(),
            storage_key=key, ready_at=datetime.now(UTC), quality_flags=[],
        )  # fmt: skip
        session.add(recording)
        session.flush()
        listener = session.get(User, user.id)
        assert listener is not None
        secret = (
            AuthService(session, SystemClock())
            .issue_token(build_actor(session, listener), "bench")
            .secret
        )
        return str(recording.id), secret, size


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q + 0.5) - 1))]


async def _seek(
    client: httpx.AsyncClient, url: str, size: int, rng: random.Random, ttfb: list[float]
) -> int:
    offset = rng.randrange(0, size - 65_536)
    closed = rng.random() < 0.1
    header = f"bytes={offset}-{offset + 65_535}" if closed else f"bytes={offset}-"
    started = time.perf_counter()
    async with client.stream("GET", url, headers={"Range": header}) as response:
        if response.status_code != 206:
            raise RuntimeError(f"{header}: {response.status_code}")
        body = response.aiter_raw()
        async for chunk in body:
            if chunk:
                ttfb.append((time.perf_counter() - started) * 1000)
                break
        if closed:
            async for _ in body:
                pass
    return 1


async def _start_session(client: httpx.AsyncClient, secret: str, rid: str) -> str:
    r = await client.post(
        f"/api/v1/recordings/{rid}/playback", headers={"Authorization": f"Bearer {secret}"}
    )
    r.raise_for_status()
    return str(r.json()["url"])


async def _listener(
    client: httpx.AsyncClient, url: str, size: int, seed: int, until: float, paced: bool,
    ttfb: list[float],
) -> int:  # fmt: skip
    rng = random.Random(seed)
    done = 0
    if paced:
        # Independent listeners: nobody's first seek is synchronised with anyone else's.
        await asyncio.sleep(rng.uniform(0.0, 1.0))
    while time.perf_counter() < until:
        done += await _seek(client, url, size, rng, ttfb)
        if paced:
            await asyncio.sleep(rng.uniform(0.5, 1.5))
    return done


async def _load(base: str, secret: str, rid: str, size: int, clients: int, seconds: float,
                paced: bool, server_pid: int) -> dict[str, float]:  # fmt: skip
    """Each client its own connection pool, as separate players would be. The server's CPU
    per request is taken over the seeking phase only (not the sessions' start)."""
    ttfb: list[float] = []
    pools = [httpx.AsyncClient(base_url=base, timeout=30) for _ in range(clients)]
    try:
        urls = await asyncio.gather(*(_start_session(c, secret, rid) for c in pools))
        cpu_before = _cpu_s(server_pid)
        started = time.perf_counter()
        until = started + seconds
        counts = await asyncio.gather(*(
            _listener(c, u, size, SEED + i, until, paced, ttfb)
            for i, (c, u) in enumerate(zip(pools, urls, strict=True))
        ))  # fmt: skip
        elapsed = time.perf_counter() - started
        cpu = _cpu_s(server_pid) - cpu_before
    finally:
        for c in pools:
            await c.aclose()
    return {
        "requests": sum(counts),
        "requests_per_s": round(sum(counts) / elapsed, 1),
        "ttfb_p50_ms": round(statistics.median(ttfb), 2),
        "ttfb_p95_ms": round(_percentile(ttfb, 0.95), 2),
        "ttfb_p99_ms": round(_percentile(ttfb, 0.99), 2),
        "ttfb_max_ms": round(max(ttfb), 2),
        # A figure the other tenants of a shared machine inflate far less than wall-clock TTFB.
        "server_cpu_ms_per_request": round(cpu * 1000 / max(1, sum(counts)), 2),
    }


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return -1.0


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small size for CI smoke runs")
    args = parser.parse_args()
    seconds = 600 if args.quick else 4 * 3600
    clients = 50
    paced_s, saturated_s = (6.0, 3.0) if args.quick else (40.0, 10.0)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        audio = root / "4h.mp3"
        t0 = time.perf_counter()
        make_mp3(audio, seconds)
        make_s = time.perf_counter() - t0
        url = f"sqlite:///{root / 'bench.db'}"
        rid, secret, size = populate(url, root / "blobs", audio, seconds)
        port = _free_port()
        env = {**os.environ, "CALLREC_DATABASE_URL": url, "CALLREC_DATA_DIR": str(root),
               "CALLREC_STORAGE_URL": f"file://{root / 'blobs'}",
               "CALLREC_SECRET_KEY": "bench-secret"}  # fmt: skip
        log = (root / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "callrec.app:create_app", "--factory",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base)
            pid = server.pid
            asyncio.run(_load(base, secret, rid, size, 5, 1.0, False, pid))  # warm up
            paced = asyncio.run(_load(base, secret, rid, size, clients, paced_s, True, pid))
            saturated = asyncio.run(
                _load(base, secret, rid, size, clients, saturated_s, False, pid)
            )
            rss = _peak_rss_mb(server.pid)
        except BaseException:
            sys.stderr.write((root / "server.log").read_text()[-4000:])
            raise
        finally:
            server.terminate()
            server.wait(10)
            log.close()
    result: dict[str, object] = {
        "bench": "playback", "quick": args.quick, "clients": clients,
        "recording_seconds": seconds, "recording_mb": round(size / 1e6, 1),
        "mp3_make_s": round(make_s, 1), "backend": "sqlite", "storage": "filesystem",
        **paced,
        "saturated": saturated,
        "server_peak_rss_mb": rss,
        "load_1m_before": round(load_before, 2), "load_1m_after": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(), "target_ttfb_p95_ms": TARGET_P95_MS,
    }  # fmt: skip
    result["meets_target"] = float(paced["ttfb_p95_ms"]) <= TARGET_P95_MS
    print(json.dumps(result))


if __name__ == "__main__":
    main()
