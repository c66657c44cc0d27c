"""The recording server's call life with a Python SRC on real sockets: a hold re-INVITE is
silence of the right length in the recording, lost and reordered packets keep their places,
audio injected from another address is dropped, and an SRC that vanishes without a BYE has its
recording ended after the RTP timeout."""

from __future__ import annotations

import secrets
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import select

from callrec.media import g711
from callrec.models import Recording, RecordingState
from callrec.telephony.sdp import SessionDescription
from callrec.telephony.sip import (
    BodyPart,
    Headers,
    SipRequest,
    SipResponse,
    SipUri,
    build_multipart,
    parse_message,
)
from callrec.worker.queue import MemoryQueue
from callrec.worker.runtime import Runtime
from tests.recordings.audio import dbfs, decode, window
from tests.telephony.test_siprec_sipp import Srs, _srs

RATE, FRAME = 8000, 160
CALLER_HZ, CALLEE_HZ, INTRUDER_HZ = 400.0, 1000.0, 3000.0
METADATA = """<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <session session_id="s1"><sipSessionID>{call_id}</sipSessionID></session>
  <participant participant_id="p1"><nameID aor="sip:+15550001@sbc.example.com"><name>Ext</name></nameID></participant>
  <participant participant_id="p2"><nameID aor="sip:alice@acme.example.com"><name>Alice</name></nameID></participant>
  <stream stream_id="st1" session_id="s1"><label>1</label></stream>
  <stream stream_id="st2" session_id="s1"><label>2</label></stream>
</recording>"""  # noqa: E501


Server = Srs


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from _srs(tmp_path, ("127.0.0.0/8",))


@pytest.fixture
def impatient_server(tmp_path: Path) -> Iterator[Server]:
    yield from _srs(tmp_path, ("127.0.0.0/8",), rtp_timeout_s=1.5)


def _tone(hz: float, frame: int) -> bytes:
    n = np.arange(frame * FRAME, (frame + 1) * FRAME)
    return g711.encode(0, (8000 * np.sin(2 * np.pi * hz * n / RATE)).astype(np.int16))


@dataclass
class Src:
    """One recording session opened by hand: SIP over UDP, two RTP streams."""

    server: Server
    sip: socket.socket = field(default_factory=lambda: socket.socket(type=socket.SOCK_DGRAM))
    rtp: list[socket.socket] = field(default_factory=list)
    call_id: str = field(default_factory=lambda: f"{secrets.token_hex(6)}@life")
    cseq: int = 0
    to_tag: str | None = None
    targets: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sip.bind(("127.0.0.1", 0))
        self.sip.settimeout(5)
        for _ in range(2):
            sock = socket.socket(type=socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            self.rtp.append(sock)

    def close(self) -> None:
        for sock in (self.sip, *self.rtp):
            sock.close()

    def request(self, method: str, body: bytes = b"", content_type: str | None = None,
                branch: str | None = None, cseq: int | None = None) -> int:  # fmt: skip
        if cseq is not None:
            self.cseq = cseq
        elif method != "ACK":
            self.cseq += 1
        port = self.sip.getsockname()[1]
        branch = branch or f"z9hG4bK{secrets.token_hex(5)}"
        headers = Headers([
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={branch}"),
            ("From", "<sip:sbc@127.0.0.1>;tag=src1"),
            ("To", "<sip:srs@127.0.0.1>" + (f";tag={self.to_tag}" if self.to_tag else "")),
            ("Call-ID", self.call_id), ("CSeq", f"{self.cseq} {method}"),
            ("Max-Forwards", "70"), ("Contact", f"<sip:sbc@127.0.0.1:{port}>;+sip.src"),
        ])  # fmt: skip
        if content_type:
            headers.add("Content-Type", content_type)
        uri = SipUri.parse(f"sip:srs@127.0.0.1:{self.server.port}")
        self.sip.sendto(SipRequest(method, uri, headers, body).serialize(),
                        ("127.0.0.1", self.server.port))  # fmt: skip
        return self.cseq

    def final(self) -> SipResponse:
        while True:
            data, _ = self.sip.recvfrom(65536)
            message = parse_message(data)
            if isinstance(message, SipResponse) and message.status >= 200:
                return message

    def invite(self, direction: str = "sendonly") -> SipResponse:
        content_type, body = build_multipart(
            [BodyPart("application/sdp", body=self.offer(direction).encode()),
             BodyPart("application/rs-metadata+xml",
                      body=METADATA.format(call_id=self.call_id).encode())],
            "life-boundary",
        )  # fmt: skip
        self.request("INVITE", body, content_type)
        answer = self.final()
        self.to_tag = answer.to.tag
        self.request("ACK")
        if answer.status == 200 and not self.targets:
            sdp = SessionDescription.parse(answer.body)
            self.targets = [("127.0.0.1", m.port) for m in sdp.media]
        return answer

    def reinvite(self, direction: str) -> SipResponse:
        self.request("INVITE", self.offer(direction).encode(), "application/sdp")
        answer = self.final()
        self.request("ACK")
        return answer

    def offer(self, direction: str) -> str:
        lines = ["v=0", "o=sbc 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"]
        for label, sock in enumerate(self.rtp, start=1):
            lines += [f"m=audio {sock.getsockname()[1]} RTP/AVP 0", "a=rtpmap:0 PCMU/8000",
                      f"a=label:{label}", f"a={direction}"]  # fmt: skip
        return "\r\n".join(lines) + "\r\n"

    def stream(self, first: int, count: int, skip: frozenset[int] = frozenset(),
               swap: frozenset[int] = frozenset()) -> None:  # fmt: skip
        """Frames ``first`` .. ``first + count`` of both tones in real time; the RTP timestamp
        is the frame's place in the call (a sender's clock runs on through a hold). Frames in
        ``skip`` are lost; a frame in ``swap`` is sent after the one following it."""
        order = list(range(first, first + count))
        for i, f in enumerate(order[:-1]):
            if f in swap:
                order[i], order[i + 1] = order[i + 1], f
        start = time.monotonic()
        for n, f in enumerate(order):
            if f not in skip:
                for leg, (sock, hz) in enumerate(
                    zip(self.rtp, (CALLER_HZ, CALLEE_HZ), strict=True)
                ):
                    header = struct.pack("!BBHII", 0x80, 0, f & 0xFFFF, f * FRAME, 0x5000 + leg)
                    sock.sendto(header + _tone(hz, f), self.targets[leg])
            time.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))


def _recordings(rt: Runtime) -> list[Recording]:
    with rt.sessionmaker() as session:
        rows = list(session.scalars(select(Recording)))
        for row in rows:
            session.expunge(row)
        return rows


def _processed(rt: Runtime, wait_s: float = 10.0) -> tuple[Recording, NDArray[np.float64]]:
    """Wait for the capture, then run its processing job. The job is sent just after the
    capture's commit, so a capture seen a moment early is drained again."""
    assert isinstance(rt.queue, MemoryQueue)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        rows = _recordings(rt)
        if rows and rows[0].state is not RecordingState.CAPTURING:
            rt.queue.drain(rt)
            if _recordings(rt)[0].state in (RecordingState.READY, RecordingState.FAILED):
                break
        time.sleep(0.05)
    else:
        raise AssertionError(f"no processed recording: {_recordings(rt)}")
    (ready,) = _recordings(rt)
    assert ready.state is RecordingState.READY, ready.failure_reason
    rate, channels, samples = decode(rt.blobs.get_bytes(ready.storage_key or ""))
    assert (rate, channels) == (RATE, 1)
    return ready, samples


def _onset(samples: NDArray[np.float64]) -> float:
    """Where the first packet landed: at its arrival after the 200 OK, which a loaded machine
    may delay; the rest of the call is placed from there by timestamp."""
    return int(np.argmax(np.abs(samples) > 0.01)) / RATE


def _talk_ms(ready: Recording, samples: NDArray[np.float64]) -> float:
    assert ready.duration_ms == pytest.approx(len(samples) / RATE * 1000, abs=40)
    return (len(samples) / RATE - _onset(samples)) * 1000


def _level_at(samples: NDArray[np.float64], hz: float, start_s: float, end_s: float) -> float:
    """The share of the window's energy at ``hz`` (1.0: a pure tone, 0.0: none of it)."""
    part = window(samples, RATE, start_s, end_s)
    spectrum = np.abs(np.fft.rfft(part)) ** 2
    freqs = np.fft.rfftfreq(len(part), 1 / RATE)
    near = np.abs(freqs - hz) < 15
    return float(spectrum[near].sum() / max(spectrum.sum(), 1e-12))


def test_a_hold_is_silence_of_its_length_not_a_gap(server: Server) -> None:
    src = Src(server)
    try:
        assert src.invite().status == 200
        src.stream(0, 50)  # 1.0 s talking
        assert src.reinvite("inactive").status == 200
        time.sleep(1.5)  # on hold: nothing sent
        assert src.reinvite("sendonly").status == 200
        src.stream(125, 50)  # resumed: the sender's clock ran on through the hold
        src.request("BYE")
        assert src.final().status == 200
    finally:
        src.close()
    ready, samples = _processed(server.runtime)
    assert _talk_ms(ready, samples) == pytest.approx(3500, abs=100)
    onset = _onset(samples)
    assert _level_at(samples, CALLER_HZ, onset + 0.1, onset + 0.9) > 0.3
    assert dbfs(window(samples, RATE, onset + 1.1, onset + 2.4)) < -60  # the hold, silent
    assert _level_at(samples, CALLEE_HZ, onset + 2.6, onset + 3.4) > 0.3


def test_lost_and_reordered_packets_keep_their_places(server: Server) -> None:
    lost = frozenset({20, 21, 60, 61, 62})
    src = Src(server)
    try:
        assert src.invite().status == 200
        src.stream(0, 100, skip=lost, swap=frozenset({10, 40, 80}))
        src.request("BYE")
        assert src.final().status == 200
    finally:
        src.close()
    ready, samples = _processed(server.runtime)
    assert _talk_ms(ready, samples) == pytest.approx(2000, abs=100)
    onset = _onset(samples)

    def frame_dbfs(frame: int) -> float:
        at = onset + frame * 0.02
        return dbfs(window(samples, RATE, at + 0.002, at + 0.018))

    for frame in sorted(lost):  # the lost slots are silence where they were, nothing shifted
        assert frame_dbfs(frame) < -40, frame  # MP3 smears a little energy into short gaps
    for frame in (10, 11, 40, 41, 63, 99):  # the swapped packets, and after the loss, in place
        assert frame_dbfs(frame) > -30, frame
    assert _level_at(samples, CALLER_HZ, 1.3, 1.9) > 0.3


def test_audio_injected_from_another_address_is_dropped(server: Server) -> None:
    src = Src(server)
    intruder = socket.socket(type=socket.SOCK_DGRAM)
    intruder.bind(("127.0.0.1", 0))
    try:
        assert src.invite().status == 200
        src.stream(0, 10)  # the SRC's sockets are latched
        for f in range(10, 60):  # the intruder guesses the ports and the sequence numbers
            for leg, target in enumerate(src.targets):
                header = struct.pack("!BBHII", 0x80, 0, f, f * FRAME, 0x5000 + leg)
                intruder.sendto(header + _tone(INTRUDER_HZ, f), target)
            time.sleep(0.02)
        src.stream(60, 40)
        src.request("BYE")
        assert src.final().status == 200
    finally:
        src.close()
        intruder.close()
    _, samples = _processed(server.runtime)
    assert _level_at(samples, INTRUDER_HZ, 0.0, 2.0) < 0.01
    onset = _onset(samples)
    assert dbfs(window(samples, RATE, onset + 0.25, onset + 1.15)) < -60  # the SRC's pause
    assert _level_at(samples, CALLER_HZ, 1.3, 1.9) > 0.3


def test_an_src_that_vanishes_ends_the_recording_after_the_rtp_timeout(
    impatient_server: Server,
) -> None:
    src = Src(impatient_server)
    try:
        assert src.invite().status == 200
        src.stream(0, 50)
        gone = time.monotonic()
        ready, samples = _processed(impatient_server.runtime, wait_s=8.0)  # no BYE is sent
        assert time.monotonic() - gone < 6.0
    finally:
        src.close()
    assert _talk_ms(ready, samples) == pytest.approx(1000, abs=100)


def test_a_cancelled_invite_gets_487_and_leaves_no_recording(server: Server) -> None:
    src = Src(server)
    try:
        content_type, body = build_multipart(
            [BodyPart("application/sdp", body=src.offer("sendonly").encode()),
             BodyPart("application/rs-metadata+xml",
                      body=METADATA.format(call_id=src.call_id).encode())],
            "life-boundary",
        )  # fmt: skip
        branch = "z9hG4bKcancelme"
        src.request("INVITE", body, content_type, branch=branch)
        src.request("CANCEL", branch=branch, cseq=src.cseq)  # before the decision is back
        finals = {}
        while len(finals) < 2:
            response = src.final()
            finals[response.cseq.method] = response.status
        src.to_tag = None
        src.request("ACK", branch=branch, cseq=1)
    finally:
        src.close()
    assert finals == {"CANCEL": 200, "INVITE": 487}
    time.sleep(0.5)
    assert [r.state for r in _recordings(server.runtime)] == []


def test_an_rtp_port_another_process_holds_is_skipped(server: Server) -> None:
    squatter = socket.socket(type=socket.SOCK_DGRAM)
    squatter.bind(("127.0.0.1", server.rtp_first))  # the pool's first port
    src = Src(server)
    try:
        assert src.invite().status == 200
        assert server.rtp_first not in {port for _, port in src.targets}
        src.stream(0, 25)
        src.request("BYE")
        assert src.final().status == 200
    finally:
        src.close()
        squatter.close()
    ready, samples = _processed(server.runtime)
    assert _talk_ms(ready, samples) == pytest.approx(500, abs=100)
