"""Recording-processing benchmark (issue 3).

1. A 4-hour two-leg G.711 call (CREC capture) from "captured" to "ready" on one core: decode,
   align, mix to mono, MP3, peaks, completeness checks, sha256, store in a filesystem blob store.
   Measured in a child process pinned to one core, with its peak RSS.
2. Baseline in the same run: the ffmpeg command line decoding the same two legs (raw μ-law),
   mixing them and encoding MP3 at the same bitrate, pinned to the same core.
3. Hang-up to playable for 5-minute calls through the embedded queue (SQLite huey, a worker in
   this process): the time from `captured` to `ready`, p95.

Targets: <= 10 s and peak RSS <= 300 MB for 4 h, faster than ffmpeg, hang-up to playable p95
<= 5 s. Usage: python bench/processing.py [--quick]. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

CORE = 0
TARGETS = {"seconds_4h": 10, "peak_rss_mb": 300, "ratio_vs_ffmpeg": 1.0,
           "hangup_to_playable_p95_s": 5}  # fmt: skip


def _pin() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {CORE})


def child(capture: Path, work: Path) -> None:
    """Runs in the measured child: the pipeline's processing and storing steps."""
    _pin()
    from callrec.kit.settings import Settings
    from callrec.recordings.processing import Delivery, process_audio
    from callrec.storage import FilesystemBlobStore

    started = time.perf_counter()
    settings = Settings()  # the defaults the worker uses (format, bitrate, LAME quality)
    delivery = Delivery(settings.delivery_format, settings.mp3_bitrate_kbps, settings.mp3_quality)
    result = process_audio(capture, "crec", work, delivery)
    store = FilesystemBlobStore(work / "blobs")
    store.put_file("recordings/bench/audio.mp3", result.audio_path)
    store.put_bytes("recordings/bench/peaks.json", result.peaks_json)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"seconds": elapsed, "peak_rss_mb": peak_mb, "duration_ms": result.duration_ms,
               "flags": list(result.quality_flags)}  # fmt: skip
    print(json.dumps(figures))


def measure_ours(capture: Path, tmp: Path) -> dict[str, float]:
    work = tmp / "work"
    work.mkdir()
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(capture), str(work)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def write_legs(capture: Path, tmp: Path) -> tuple[Path, Path]:
    """The same two legs as raw μ-law files: what ffmpeg gets (it cannot read CREC)."""
    from callrec.media import g711
    from callrec.media.mixdown import render_capture

    paths = (tmp / "leg0.ul", tmp / "leg1.ul")
    with paths[0].open("wb") as a, paths[1].open("wb") as b:
        for chunk in render_capture(capture):
            a.write(g711.encode(0, chunk.legs[0]))
            b.write(g711.encode(0, chunk.legs[1]))
    return paths


def ensure_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "ffmpeg"], check=True, capture_output=True)
    found = shutil.which("ffmpeg")
    if not found:
        raise RuntimeError("ffmpeg could not be installed")
    return found


def measure_ffmpeg(ffmpeg: str, legs: tuple[Path, Path], tmp: Path) -> float:
    command = [
        ffmpeg, "-v", "error", "-y", "-threads", "1",
        "-f", "mulaw", "-ar", "8000", "-ac", "1", "-i", str(legs[0]),
        "-f", "mulaw", "-ar", "8000", "-ac", "1", "-i", str(legs[1]),
        "-filter_complex", "[0:a][1:a]amix=inputs=2:normalize=0[m]", "-map", "[m]",
        "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", str(tmp / "ffmpeg.mp3"),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, preexec_fn=_pin)
    return time.perf_counter() - started


def hangup_to_playable(tmp: Path, calls: int, seconds: float) -> list[float]:
    """5-minute calls hanging up one after another, processed by the embedded worker."""
    from alembic import command
    from sqlalchemy import select

    from callrec.calls.schemas import CallCreate, SegmentIn
    from callrec.calls.service import CallService
    from callrec.cli import alembic_config
    from callrec.directory import schemas as s
    from callrec.directory.service import DeviceService, OrgService, UserService
    from callrec.kit.db import session_scope
    from callrec.kit.settings import Settings
    from callrec.media.synth import write_call
    from callrec.models import CallDirection, Recording, RecordingState
    from callrec.recordings.importer import describe
    from callrec.recordings.service import RecordingService
    from callrec.recordings.upload import store_source
    from callrec.worker.bootstrap import EmbeddedWorker, build_runtime

    data = tmp / "embedded"
    settings = Settings(data_dir=data, log_json=True)
    command.upgrade(alembic_config(settings.database_url_resolved), "head")
    rt = build_runtime(settings)
    with session_scope(rt.sessionmaker) as session:
        org = OrgService(session).create(
            None, s.OrgCreate(name="B", slug="b", licences_purchased=1)
        )
        user = UserService(session).create(
            None, org.id, s.UserCreate(email="b@b.example.com", display_name="B",
                                       has_licence=True, extension="201"))  # fmt: skip
        DeviceService(session).create(
            None, org.id, s.DeviceCreate(user_id=user.id, name="p", sip_username="b",
                                         aor="sip:b@b.example.com"))  # fmt: skip
        org_id = org.id
    captures = []
    for n in range(calls):
        path = tmp / f"call-{n}.crec"
        write_call(path, seconds, seed=n)
        captures.append(path)
    worker = EmbeddedWorker(rt, workers=1)
    worker.start()
    try:
        ids = []
        for n, path in enumerate(captures):
            begin = datetime.now(UTC) - timedelta(seconds=seconds)
            end = begin + timedelta(seconds=seconds)
            segment = SegmentIn(sequence=1, extension="201", started_at=begin, ended_at=end)
            create = CallCreate(
                external_id=f"bench-{n}",
                direction=CallDirection.INBOUND,
                started_at=begin,
                ended_at=end,
                segments=[segment],
            )
            with session_scope(rt.sessionmaker) as session:
                call, _ = CallService(session).create(None, org_id, create)
                source = store_source(rt.blobs, org_id, call.id, 1, describe(path))
                rec, _ = RecordingService(session, rt.clock, rt.settings).attach_source(
                    None, org_id, call.id, 1, source)  # fmt: skip
                ids.append(rec.id)
            time.sleep(0.5)  # calls end one after another, not all at once
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with rt.sessionmaker() as session:
                states = session.scalars(select(Recording.state).where(Recording.id.in_(ids)))
                if all(state is RecordingState.READY for state in states):
                    break
            time.sleep(0.05)
        with rt.sessionmaker() as session:
            rows = session.scalars(select(Recording).where(Recording.id.in_(ids))).all()
            return sorted(
                (r.ready_at - r.captured_at).total_seconds()
                for r in rows if r.ready_at and r.captured_at
            )  # fmt: skip
    finally:
        worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 20-minute call, 4 short calls")
    parser.add_argument("--child", nargs=2, metavar=("CAPTURE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    from callrec.media.synth import write_call

    call_s = 20 * 60 if args.quick else 4 * 3600
    calls = 4 if args.quick else 20
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        capture = tmp / "long.crec"
        write_call(capture, call_s, seed=20261122)
        ours = measure_ours(capture, tmp)
        legs = write_legs(capture, tmp)
        ffmpeg_s = measure_ffmpeg(ensure_ffmpeg(), legs, tmp)
        latencies = hangup_to_playable(tmp, calls, 300.0)
    scale = 4 * 3600 / call_s  # --quick reports its figures scaled to 4 h, and says so
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    result = {
        "bench": "processing",
        "quick": args.quick,
        "call_seconds": call_s,
        "seconds_4h": round(ours["seconds"] * scale, 2),
        "peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "ffmpeg_seconds_4h": round(ffmpeg_s * scale, 2),
        "ratio_vs_ffmpeg": round(ours["seconds"] / ffmpeg_s, 3),
        "hangup_to_playable_p95_s": round(p95, 3),
        "hangup_to_playable_max_s": round(max(latencies), 3),
        "calls_5min": len(latencies),
        "duration_ms": ours["duration_ms"],
        "quality_flags": ours["flags"],
        "targets": TARGETS,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
