"""Real peers around the recording proxy: a SIPp caller and SIPp callees (each playing a pcap of
its own tone), Python sockets where the SDPs say the parties receive their RTP (so a test sees
exactly what each party hears), and the analysis of what came in."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import select

from callrec.directory import schemas as s
from callrec.directory.service import DeviceService, OrgService, UserService
from callrec.kit.db import session_scope
from callrec.kit.settings import Settings
from callrec.media import g711
from callrec.models import Recording, RecordingState
from callrec.policy.types import Toggle
from callrec.telephony.proxy import ProxyConfig, RecordingProxy
from callrec.telephony.runner import MediaThread
from callrec.worker.bootstrap import build_runtime
from callrec.worker.queue import MemoryQueue
from callrec.worker.runtime import Runtime, set_runtime
from tests.dbs import migrated_engine, temp_database
from tests.telephony.rtp_pcap import Stream, write_pcap

SIPP_DIR = Path(__file__).parents[1] / "sipp"
RATE, FRAME = 8000, 160
CALLER_HZ, CALLEE_HZ, THIRD_HZ = 400.0, 600.0, 800.0


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sipp_binary() -> str:
    found = shutil.which("sipp")
    if found is None:
        pytest.fail("SIPp (Debian package sip-tester) is not installed; `make test` installs it")
    return found


def build_world(rt: Runtime) -> None:
    """Acme records incoming and outgoing calls; Alice (201) and Carol (203) have licences,
    Bob (202) has none."""
    with session_scope(rt.sessionmaker) as session:
        org = OrgService(session).create(
            None, s.OrgCreate(name="Acme", slug="acme", licences_purchased=5)
        )
        org.rec_incoming = Toggle.ON
        org.rec_outgoing = Toggle.ON
        for name, ext, licence in (("Alice", "201", True), ("Bob", "202", False),
                                   ("Carol", "203", True)):  # fmt: skip
            user = UserService(session).create(
                None, org.id, s.UserCreate(email=f"{name.lower()}@acme.example.com",
                                           display_name=name, extension=ext, has_licence=licence),
            )  # fmt: skip
            DeviceService(session).create(
                None, org.id, s.DeviceCreate(user_id=user.id, name="desk",
                                             sip_username=name.lower(),
                                             aor=f"sip:{name.lower()}@acme.example.com"),
            )  # fmt: skip


@dataclass
class RtpSink:
    """A UDP socket where a party's SDP says it receives RTP: keeps (arrival, packet)."""

    sock: socket.socket
    packets: list[tuple[float, bytes]] = field(default_factory=list)
    thread: threading.Thread | None = None
    stopped: bool = False

    @classmethod
    def open(cls) -> RtpSink:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        sink = cls(sock)
        sink.thread = threading.Thread(target=sink._run, daemon=True)
        sink.thread.start()
        return sink

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _run(self) -> None:
        while not self.stopped:
            try:
                data = self.sock.recv(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            self.packets.append((time.monotonic(), data))

    def close(self) -> None:
        self.stopped = True
        if self.thread is not None:
            self.thread.join(2)
        self.sock.close()

    def audio(self) -> tuple[NDArray[np.float64], list[int]]:
        """What the party would play out: G.711 payloads placed by RTP timestamp (silence where
        nothing came), as float samples; and the SSRCs seen."""
        rows = []
        for _, data in self.packets:
            pt = data[1] & 0x7F
            if pt in (0, 8):
                ts = int.from_bytes(data[4:8], "big")
                ssrc = int.from_bytes(data[8:12], "big")
                rows.append((ts, ssrc, pt, data[12:]))
        if not rows:
            return np.zeros(0), []
        first = rows[0][0]
        offsets = [((ts - first + (1 << 31)) % (1 << 32)) - (1 << 31) for ts, *_ in rows]
        base = min(offsets)
        end = max(o + len(p) for o, (*_, p) in zip(offsets, rows, strict=True)) - base
        out = np.zeros(end, np.float64)
        for offset, (_, _, pt, payload) in zip(offsets, rows, strict=True):
            out[offset - base : offset - base + len(payload)] = g711.decode(pt, payload) / 32768
        return out, sorted({ssrc for _, ssrc, _, _ in rows})

    def first_arrival(self) -> float | None:
        return self.packets[0][0] if self.packets else None


@dataclass
class Peer:
    """One SIPp instance: a callee in the background or a caller run to the end."""

    name: str
    work: Path
    port: int
    sink: RtpSink
    process: subprocess.Popen[str] | None = None

    def status(self) -> list[str]:
        text = "".join(p.read_text() for p in self.work.glob("*_logs.log"))
        return [line.split()[1] for line in text.splitlines() if line.startswith("STATUS")]

    def errors(self) -> str:
        return "".join(p.read_text() for p in self.work.glob("*errors.log"))

    def wait(self, timeout: float = 60) -> int:
        assert self.process is not None
        try:
            self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        return int(self.process.returncode or 0)


class Peers:
    """The SIPp peers of one test, each in its own directory with its own pcap."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.sipp = sipp_binary()
        self.peers: list[Peer] = []

    def _peer(self, name: str, tone_hz: float, seconds: float, dtmf: str | None = None,
              dtmf_at: float = 0.5, port: int | None = None,
              gap: tuple[float, float] | None = None) -> Peer:  # fmt: skip
        work = self.tmp_path / f"{name}-{uuid.uuid4().hex[:6]}"
        work.mkdir()
        ssrc = 0x1000 + len(self.peers)
        audio = work / ("caller.pcap" if port is None else "callee.pcap")  # the scenarios' names
        write_pcap(audio, [Stream(6000, tone_hz, ssrc)], seconds)
        if gap is not None:
            drop_window(audio, *gap)
        # What an asked caller sends after the 183: a key press, or only its audio.
        key = (dtmf, dtmf_at) if dtmf is not None else None
        write_pcap(work / "dtmf.pcap", [Stream(6000, tone_hz, ssrc + 0x100, dtmf=key)],
                   dtmf_at + 0.4)  # fmt: skip
        peer = Peer(name, work, port or free_port(), RtpSink.open())
        self.peers.append(peer)
        return peer

    def callee(
        self, port: int, scenario: str = "proxy_callee.xml", tone_hz: float = CALLEE_HZ,
        seconds: float = 3.0, name: str = "callee", hold_ms: int = 3000,
        gap: tuple[float, float] | None = None, keys: dict[str, str] | None = None,
    ) -> Peer:  # fmt: skip
        """Start a SIPp callee in the background on ``port`` (the proxy routes there)."""
        peer = self._peer(name, tone_hz, seconds, port=port, gap=gap)
        command = [
            self.sipp, "-sf", str(SIPP_DIR / scenario), "-m", "1", "-i", "127.0.0.1",
            "-p", str(peer.port), "-mi", "127.0.0.1", "-mp", str(free_port()),
            "-key", "rx_port", str(peer.sink.port), "-d", str(hold_ms), "-timeout", "60s",
            "-timeout_error", "-nostdin", "-trace_err", "-trace_logs",
        ]  # fmt: skip
        for key, value in (keys or {}).items():
            command += ["-key", key, value]
        peer.process = subprocess.Popen(command, cwd=peer.work, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)  # fmt: skip
        time.sleep(0.3)  # let it bind before anything is routed to it
        return peer

    def call(
        self, proxy_port: int, service: str, caller: str, *, scenario: str = "proxy_caller.xml",
        hold_ms: int = 3000, seconds: float = 3.0, name: str = "caller",
        dtmf: str | None = None, dtmf_at: float = 0.5, caller_name: str = "Caller",
        background: bool = False, digit: str = "1", gap: tuple[float, float] | None = None,
        transport: str = "udp",
    ) -> Peer:  # fmt: skip
        """Run a SIPp caller to the end (or start it, with ``background``)."""
        peer = self._peer(name, CALLER_HZ, seconds, dtmf, dtmf_at, gap=gap)
        command = [
            self.sipp, "-sf", str(SIPP_DIR / scenario), "-m", "1", "-i", "127.0.0.1",
            "-p", str(peer.port), "-mi", "127.0.0.1", "-mp", str(free_port()),
            "-s", service, "-key", "caller", caller, "-key", "caller_name", caller_name,
            "-key", "rx_port", str(peer.sink.port), "-d", str(hold_ms), "-key", "digit", digit,
            "-t", "u1" if transport == "udp" else "t1",
            "-timeout", "60s", "-timeout_error", "-nostdin", "-trace_err", "-trace_logs",
            f"127.0.0.1:{proxy_port}",
        ]  # fmt: skip
        peer.process = subprocess.Popen(command, cwd=peer.work, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)  # fmt: skip
        if not background:
            code = peer.wait()
            assert code == 0, f"caller sipp failed ({code}): {peer.errors()[-3000:]}"
        return peer

    def close(self) -> None:
        for peer in self.peers:
            if peer.process is not None and peer.process.poll() is None:
                peer.process.kill()
                peer.process.communicate()
            peer.sink.close()


def drop_window(path: Path, start_s: float, end_s: float) -> None:
    """Remove the packets a pcap sends between ``start_s`` and ``end_s`` (a party on hold)."""
    data = path.read_bytes()
    out, pos = bytearray(data[:24]), 24
    while pos + 16 <= len(data):
        sec, usec, length, _ = struct.unpack_from("<IIII", data, pos)
        record = data[pos : pos + 16 + length]
        if not start_s <= sec + usec / 1e6 < end_s:
            out += record
        pos += 16 + length
    path.write_bytes(bytes(out))


@dataclass
class ProxyWorld:
    runtime: Runtime
    port: int
    media: MediaThread
    config: ProxyConfig

    @property
    def proxy(self) -> RecordingProxy:
        assert self.media.proxy is not None
        return self.media.proxy

    def recordings(self) -> list[Recording]:
        with self.runtime.sessionmaker() as session:
            rows = list(session.scalars(select(Recording).order_by(Recording.created_at)))
            for row in rows:
                session.expunge(row)
            return rows

    def wait_captured(self, count: int = 1, timeout: float = 20) -> list[Recording]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.recordings()
            if len(rows) >= count and all(r.state is RecordingState.CAPTURED for r in rows):
                return rows
            time.sleep(0.05)
        raise AssertionError(f"not {count} captured recording(s): {self.recordings()}")

    def process(self) -> list[Recording]:
        """Run the queued processing jobs, as a worker would."""
        assert isinstance(self.runtime.queue, MemoryQueue)
        self.runtime.queue.drain(self.runtime)
        return self.recordings()

    def wait_idle(self, timeout: float = 10) -> None:
        """Until the proxy has no call left (every leg hung up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proxy.calls:
                return
            time.sleep(0.05)
        raise AssertionError(f"calls still up: {list(self.proxy.calls)}")


def start_proxy(rt: Runtime, config_for: dict[str, object]) -> tuple[MediaThread, int, ProxyConfig]:
    for _ in range(10):
        port = free_port(socket.SOCK_STREAM)
        base = 30000 + (port % 400) * 24
        config = ProxyConfig(host="127.0.0.1", sip_port=port, rtp_first=base,
                             rtp_last=base + 23, org_slug="acme", **config_for)  # type: ignore[arg-type]  # fmt: skip
        media = MediaThread(rt, None, config)
        try:
            media.start()
        except OSError:
            media.abandon()
            continue
        return media, port, config
    raise AssertionError("no free SIP port after 10 tries")


def proxy_world(tmp_path: Path, **config: object) -> Iterator[ProxyWorld]:
    with temp_database(tmp_path) as url:
        migrated_engine(url).dispose()
        settings = Settings(data_dir=tmp_path / "data", database_url=url, log_json=True,
                            log_level="WARNING")  # fmt: skip
        rt = build_runtime(settings, queue=MemoryQueue())
        build_world(rt)
        media, port, proxy_config = start_proxy(rt, config)
        try:
            yield ProxyWorld(rt, port, media, proxy_config)
        finally:
            media.stop()
            set_runtime(None)
            rt.sessionmaker.kw["bind"].dispose()


def strong_frequencies(samples: NDArray[np.float64], rate: int = RATE) -> set[int]:
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return {round(float(f)) for f in freqs[spectrum > spectrum.max() / 5]}


def has_tone(samples: NDArray[np.float64], hz: float, rate: int = RATE) -> bool:
    return any(abs(f - hz) < 10 for f in strong_frequencies(samples, rate))


def tone_level(samples: NDArray[np.float64], hz: float, rate: int = RATE) -> float:
    """Amplitude of the ``hz`` component (a Goertzel-like projection), 0..1."""
    if len(samples) == 0:
        return 0.0
    t = np.arange(len(samples)) / rate
    c = np.dot(samples, np.cos(2 * np.pi * hz * t))
    s_ = np.dot(samples, np.sin(2 * np.pi * hz * t))
    return float(2 * np.hypot(c, s_) / len(samples))


def beep_onsets(samples: NDArray[np.float64], hz: float, rate: int = RATE,
                threshold: float = 0.05) -> list[float]:  # fmt: skip
    """Seconds at which a burst of ``hz`` starts (5 ms resolution, sample-refined)."""
    step = rate // 200
    window = rate // 50
    levels = np.array([tone_level(samples[i : i + window], hz, rate)
                       for i in range(0, max(0, len(samples) - window), step)])  # fmt: skip
    onsets: list[float] = []
    above = False
    for i, level in enumerate(levels):
        if level > threshold and not above:
            onsets.append(i * step / rate)
        above = level > threshold
    # Refine each onset to the first sample where the tone's envelope rises.
    refined = []
    for onset in onsets:
        lo = max(0, int(onset * rate) - window)
        seg = samples[lo : lo + 3 * window]
        t = np.arange(len(seg)) / rate
        analytic = np.abs(seg * np.exp(-2j * np.pi * hz * t))
        smooth = np.convolve(analytic, np.ones(40) / 40, mode="same")
        peak = smooth.max()
        first = int(np.argmax(smooth > peak / 2)) if peak > 0 else 0
        refined.append((lo + first) / rate)
    return refined
