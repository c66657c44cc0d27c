"""SIPREC capture benchmark: how many concurrent recorded calls one recorder core takes.

Each run starts the recording server as production runs it (``python -m callrec media``, uvloop)
on a fresh data dir (SQLite, filesystem blobs) pinned to core 0, and the load generator
(``bench/_siprec_load.py``, its own process, asyncio + uvloop) pinned to core 1. The generator acts
as an SBC: N SIPREC sessions over UDP (INVITE with SDP + rs-metadata, staggered starts), each with
two PCMU streams at 50 packets/s (160-byte payloads) from its answer until a window of S seconds
with all N calls up has passed; then every call gets a BYE. Call n reaches the licensed user
``u<n>`` (device ``sip:u<n>@acme.example.com``), so every call is recorded.

Measured per run:
- packets expected: every RTP packet the generator sent (its pacing never skips one; a failed send
  counts against the generator). Packets stored: the records of every call's CREC capture, read
  from the blob store once BYE has turned each capture into a ``captured`` recording.
  lost = expected - stored, over the whole life of every call.
- recorder CPU %: utime + stime of the recorder process (all its threads, /proc/<pid>/stat) over
  the window, divided by the window's wall time (100 % = one core; pinned, it cannot use more).
  Also its CPU per packet, and its RSS (VmHWM, the peak over the run).
- the generator: late ticks (a 20 ms packet slot sent 20 ms or more behind schedule), send errors,
  and its own CPU over the window, from which its capacity (calls at 100 % of its core) follows.
  It runs at nice -10 where allowed (the recorder at normal priority), so that other work on
  its core does not make it late; late ticks still make a run unclean.

Search: N grows by half from a start size until a run is not clean (a packet lost, a call not
answered or not captured, or the generator behind), then bisects once or twice between the last
clean and the first unclean size. ``max_calls_per_core`` is the largest clean N, with the recorder
CPU it took; ``limited_by`` says what stopped the search. ``generator_max_calls`` is the largest N
the generator drove on schedule if it ever fell behind, else its extrapolated capacity.

Target: >= 1,000 calls per recorder core. Usage: python bench/capture.py [--quick] (one run of
20 calls for 5 s). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from sqlalchemy import func, insert, select

from callrec.cli import alembic_config
from callrec.kit.db import make_engine
from callrec.kit.ids import new_id
from callrec.media.capture import read_index
from callrec.models import Device, Org, Recording, RecordingState, User
from callrec.policy import Toggle
from callrec.storage import FilesystemBlobStore

RECORDER_CORE, GENERATOR_CORE = 0, 1
# The generator is the measuring instrument: at a higher priority than anything else sharing its
# core (other work on a shared machine made it late with most of its core idle). The recorder,
# the thing measured, runs at normal priority.
GENERATOR_NICE = -10
RTP_PORTS = "10000-29999"  # 5,000 two-stream calls; below the ephemeral range
MAX_CALLS = 5000
GENERATOR = Path(__file__).with_name("_siprec_load.py")
TARGET_CALLS_PER_CORE = 1000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def populate(url: str, users: int) -> None:
    """Org ``acme`` recording incoming calls, one licensed user and device per call."""
    engine = make_engine(url)
    org_id = new_id()
    user_ids = [new_id() for _ in range(users)]
    with engine.begin() as conn:
        conn.execute(
            insert(Org),
            [{"id": org_id, "name": "Acme", "slug": "acme", "licences_purchased": users,
              "rec_incoming": Toggle.ON}],
        )  # fmt: skip
        conn.execute(
            insert(User),
            [{"id": u, "org_id": org_id, "email": f"u{n}@acme.example.com",
              "display_name": f"User {n}", "extension": f"1{n:04d}", "has_licence": True}
             for n, u in enumerate(user_ids)],
        )  # fmt: skip
        conn.execute(
            insert(Device),
            [{"id": new_id(), "org_id": org_id, "user_id": u, "name": f"phone {n}",
              "sip_username": f"u{n}", "aor": f"sip:u{n}@acme.example.com"}
             for n, u in enumerate(user_ids)],
        )  # fmt: skip
    engine.dispose()


def template_db(tmp: Path, users: int) -> Path:
    """A migrated, populated database that every run copies (runs stay independent)."""
    path = tmp / "template.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "head")
    populate(url, users)
    return path


def _pin(core: int, nice: int = 0) -> Callable[[], None]:
    def pin() -> None:
        os.sched_setaffinity(0, {core})
        if nice:
            # Not root: it runs at normal priority, and its late ticks will say if that mattered.
            with contextlib.suppress(PermissionError):
                os.setpriority(os.PRIO_PROCESS, 0, nice)

    return pin


def _free_sip_port() -> int:
    """A port free for both UDP and TCP right now (the recorder listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


class Recorder:
    """``python -m callrec media`` on one core, and what /proc says about it."""

    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port
        self.log = data / "recorder.log"
        env = {**os.environ, "CALLREC_DATA_DIR": str(data),
               "CALLREC_DATABASE_URL": f"sqlite:///{data / 'callrec.db'}",
               "CALLREC_LOG_LEVEL": "WARNING", "CALLREC_LOG_JSON": "true"}  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "callrec", "media", "--sip-port", str(port),
                 "--rtp-ports", RTP_PORTS, "--org", "acme"],
                env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_pin(RECORDER_CORE),
            )  # fmt: skip

    def cpu_s(self) -> float:
        user, system = self.cpu_split()
        return user + system

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds (system: the kernel's UDP receive, fsync, epoll)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime

    def memory_mb(self, key: str) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]


def drive(recorder: Recorder, calls: int, seconds: float, cps: float) -> dict[str, object]:
    """Run the generator; sample the recorder's CPU at the window's start and end."""
    timeout = 60 + seconds + 2 * calls / cps
    generator = subprocess.Popen(
        [sys.executable, str(GENERATOR), "--port", str(recorder.port), "--calls", str(calls),
         "--seconds", str(seconds), "--cps", str(cps)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_pin(GENERATOR_CORE, GENERATOR_NICE),
    )  # fmt: skip
    watchdog = threading.Timer(timeout, generator.kill)
    watchdog.start()
    figures: dict[str, object] = {}
    samples: dict[str, tuple[float, float, float, float]] = {}
    try:
        assert generator.stdout is not None
        for line in generator.stdout:
            event = json.loads(line)
            name = event.pop("event")
            user, system = recorder.cpu_split()
            samples[name] = (user, system, time.perf_counter(), recorder.memory_mb("VmRSS"))
            if name == "result":
                figures = event
        stderr = generator.stderr.read() if generator.stderr else ""
        if generator.wait() != 0 or not figures:
            raise RuntimeError(f"generator failed: {stderr[-2000:]}\nrecorder: {recorder.tail()}")
    finally:
        watchdog.cancel()
        if generator.poll() is None:
            generator.kill()
            generator.wait()
    (user0, sys0, t0, _), (user1, sys1, t1, rss) = samples["window_start"], samples["window_end"]
    cpu0, cpu1 = user0 + sys0, user1 + sys1
    figures["recorder_cpu_pct"] = round(100 * (cpu1 - cpu0) / (t1 - t0), 1)
    figures["recorder_sys_pct"] = round(100 * (sys1 - sys0) / (t1 - t0), 1)
    figures["recorder_window_cpu_s"] = round(cpu1 - cpu0, 3)
    figures["recorder_rss_window_mb"] = round(rss, 1)
    return figures


def wait_captured(url: str, calls: int, timeout: float) -> int:
    """How many recordings reached ``captured`` (waits until all ``calls`` have, or timeout)."""
    engine = make_engine(url)
    done = (RecordingState.CAPTURED, RecordingState.PROCESSING, RecordingState.READY)
    query = select(func.count()).select_from(Recording).where(Recording.state.in_(done))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                captured = int(conn.scalar(query) or 0)
            if captured >= calls or time.monotonic() > deadline:
                return captured
            time.sleep(0.2)
    finally:
        engine.dispose()


def stored_packets(data: Path, url: str) -> int:
    """Records in every captured source: one per RTP packet the recorder kept."""
    engine = make_engine(url)
    with engine.connect() as conn:
        keys = [k for k in conn.scalars(select(Recording.source_key)) if k]
    engine.dispose()
    blobs = FilesystemBlobStore(data / "blobs")
    copy = data / "source.crec"
    total = 0
    for key in keys:
        blobs.download_to(key, copy)
        total += len(read_index(copy))
    return total


def one_run(tmp: Path, template: Path, calls: int, seconds: float, cps: float) -> dict[str, object]:
    data = tmp / f"run-{calls}"
    data.mkdir()
    shutil.copy(template, data / "callrec.db")
    url = f"sqlite:///{data / 'callrec.db'}"
    recorder = Recorder(data, _free_sip_port())
    try:
        gen = drive(recorder, calls, seconds, cps)
        answered = int(gen["answered"])  # type: ignore[call-overload]
        captured = wait_captured(url, answered, timeout=30 + answered / 20)
        rss_peak = recorder.memory_mb("VmHWM")
    finally:
        recorder.stop()
    stored = stored_packets(data, url)
    shutil.rmtree(data, ignore_errors=True)
    return summarize(calls, gen, captured, stored, rss_peak)


def summarize(
    calls: int, gen: dict[str, object], captured: int, stored: int, rss_peak: float
) -> dict[str, object]:
    expected = int(gen["packets_scheduled"])  # type: ignore[call-overload]
    window_packets = int(gen["window_packets"])  # type: ignore[call-overload]
    cpu_pct = float(gen["recorder_cpu_pct"])  # type: ignore[arg-type]
    window_s, gen_cpu_s = float(gen["window_s"]), float(gen["window_cpu_s"])  # type: ignore[arg-type]
    run: dict[str, object] = {
        "calls": calls, "answered": gen["answered"], "failed": gen["failed"],
        "captured": captured, "expected": expected, "stored": stored, "lost": expected - stored,
        "recorder_cpu_pct": cpu_pct, "recorder_sys_pct": gen["recorder_sys_pct"],
        "recorder_us_per_packet": round(
            float(gen["recorder_window_cpu_s"]) * 1e6 / max(1, window_packets), 2  # type: ignore[arg-type]
        ),
        "recorder_rss_mb": round(rss_peak, 1),
        "recorder_rss_window_mb": gen["recorder_rss_window_mb"],
        "generator_late_ticks": gen["late_ticks"], "generator_max_late_ms": gen["max_late_ms"],
        "generator_late_by_phase": gen["late_by_phase"], "generator_late_at": gen["late_at"],
        "generator_max_send_ms": gen["max_send_ms"],
        "generator_send_errors": gen["send_errors"],
        "generator_cpu_pct": round(100 * gen_cpu_s / window_s, 1),
        "generator_capacity_calls": int(calls * window_s / max(gen_cpu_s, 1e-9)),
        "setup_s": gen["setup_s"], "window_s": window_s, "byes_ok": gen["byes_ok"],
    }  # fmt: skip
    run["generator_ok"] = gen["late_ticks"] == 0 and gen["send_errors"] == 0
    run["recorder_ok"] = (
        run["lost"] == 0 and not gen["failed"] and captured == calls and cpu_pct <= 100.0
    )
    return run


def limit_of(run: dict[str, object]) -> str:
    if not run["generator_ok"]:
        return "generator"
    if run["lost"] != 0 or run["captured"] != run["calls"] or run["failed"]:
        return "recorder: packets lost or calls not recorded"
    return "recorder: CPU"


def search(
    tmp: Path, template: Path, start: int, seconds: float, cps: float, budget_s: float
) -> tuple[list[dict[str, object]], str]:
    return search_sizes(
        lambda calls: one_run(tmp, template, calls, seconds, cps),
        lambda run: bool(run["recorder_ok"]) and bool(run["generator_ok"]),
        limit_of, start, budget_s,
    )  # fmt: skip


def search_sizes(
    run_at: Callable[[int], dict[str, object]],
    clean: Callable[[dict[str, object]], bool],
    limit: Callable[[dict[str, object]], str],
    start: int,
    budget_s: float,
) -> tuple[list[dict[str, object]], str]:
    """Grow N by half until a run is not clean, then bisect; stop early when out of time.
    Shared by the capture and proxy benchmarks: only what a run is and what clean means differ."""
    runs: list[dict[str, object]] = []
    started = time.monotonic()
    good, bad = 0, 0
    calls = start
    while calls:
        run = run_at(calls)
        runs.append(run)
        print(json.dumps(run), flush=True)
        if clean(run):
            good = calls
        else:
            bad = calls
        spent = time.monotonic() - started
        calls = _next_size(good, bad, spent / len(runs), budget_s - spent)
    failed = [r for r in runs if r["calls"] == bad]
    return runs, limit(failed[0]) if failed else "not reached (run size or time budget)"


def _next_size(good: int, bad: int, run_s: float, left_s: float) -> int:
    if left_s < 2 * run_s:
        return 0
    if not bad:
        grown = min(MAX_CALLS, int(good * 1.5) // 10 * 10)
        return grown if grown > good else 0
    middle = (good + bad) // 2 // 10 * 10
    return middle if bad - good > max(50, good // 10) and middle > good else 0


def generator_max_calls(runs: list[dict[str, object]]) -> tuple[int, str]:
    behind = [r for r in runs if not r["generator_ok"]]
    if behind:
        on_time = [int(r["calls"]) for r in runs if r["generator_ok"]]  # type: ignore[call-overload]
        return max(on_time, default=0), "measured: the largest N it drove on schedule"
    largest = max(runs, key=lambda r: int(r["calls"]))  # type: ignore[call-overload]
    return int(largest["generator_capacity_calls"]), (  # type: ignore[call-overload]
        f"extrapolated from its CPU at {largest['calls']} calls (it never fell behind)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run of 20 calls for 5 s")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two cores: one for the recorder, one for the generator")
    start, seconds, cps = (20, 5.0, 50.0) if args.quick else (500, 20.0, 100.0)
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as name:
        tmp = Path(name)
        template = template_db(tmp, start if args.quick else MAX_CALLS)
        if args.quick:
            runs = [one_run(tmp, template, start, seconds, cps)]
            limit = "not searched (--quick)"
        else:
            runs, limit = search(tmp, template, start, seconds, cps, budget_s=540)
    print(json.dumps(result(args.quick, runs, limit)))


def result(quick: bool, runs: list[dict[str, object]], limit: str) -> dict[str, object]:
    clean = [r for r in runs if r["recorder_ok"] and r["generator_ok"]]
    best = max(clean, key=lambda r: int(r["calls"]), default=None)  # type: ignore[call-overload]
    shown = best or runs[0]
    gen_max, gen_basis = generator_max_calls(runs)
    keys = ("calls", "expected", "stored", "lost", "recorder_cpu_pct", "recorder_us_per_packet",
            "generator_late_ticks", "generator_cpu_pct")  # fmt: skip
    return {
        "bench": "capture", "quick": quick, "transport": "SIP over UDP, RTP over UDP, loopback",
        "max_calls_per_core": int(best["calls"]) if best else 0,  # type: ignore[call-overload]
        "packets_expected": shown["expected"], "packets_lost": shown["lost"],
        "recorder_cpu_pct": shown["recorder_cpu_pct"], "recorder_rss_mb": shown["recorder_rss_mb"],
        "recorder_us_per_packet": shown["recorder_us_per_packet"],
        "generator_max_calls": gen_max, "generator_max_calls_basis": gen_basis,
        "limited_by": limit, "window_s": shown["window_s"],
        "runs": [{k: r[k] for k in keys} for r in runs],
        "target_calls_per_core": TARGET_CALLS_PER_CORE,
        "meets_target": bool(best) and int(best["calls"]) >= TARGET_CALLS_PER_CORE,  # type: ignore[index, call-overload]
    }  # fmt: skip


if __name__ == "__main__":
    main()
