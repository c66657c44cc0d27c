"""SIPREC load generator for bench/capture.py: acts as an SBC opening N recording sessions.

Runs in its own process (asyncio on uvloop). SIP goes over UDP from one socket (the INVITE,
about 1.9 KB with its SDP and rs-metadata, fits a loopback datagram); each INVITE is
retransmitted per RFC 3261 Timer A until answered. Starts are staggered: at most ``--cps``
INVITEs a second and ``--concurrency`` unanswered at a time.

Each answered call streams two PCMU legs (160-byte payloads, 20 ms apart) from two UDP sockets
to the ports in the 200 OK's SDP, from its answer until the measured window ends. One timer
loop paces every stream: it ticks every 5 ms and sends one packet on each stream of the calls in
that tick's phase (a call's phase is its index mod 4), so every stream sends every 20 ms and the
load is spread over the interval as independent calls would spread it. A tick that starts 20 ms
or more after its scheduled time is late: its packets are a whole packet interval behind. Late
ticks are counted over the whole run (setup, window, after), by phase, and the first few are
listed with when they happened. The garbage collector is off for the whole run (after a
collection and ``gc.freeze`` at start): its full collections held the loop for 20-80 ms during
setup, which made runs unclean with the generator at a quarter of its core.

The window opens once every call is answered and lasts ``--seconds``; then all streams stop and
every call gets a BYE. Events go to stdout, one JSON object a line: ``window_start``,
``window_end``, then ``result`` with what was sent and how well the pacing kept up.

Usage: python bench/_siprec_load.py --port SIP_PORT --calls N --seconds S
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import uvloop

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
from callrec.telephony.siprec.metadata import Participant, RecordingMetadata, Session, Stream

LOCAL = "127.0.0.1"
PACKET_S = 0.020
PHASES = 4
TICK_S = PACKET_S / PHASES
SAMPLES = 160  # per packet: 20 ms at 8 kHz, one PCMU byte per sample
PAYLOAD = b"\xff" * SAMPLES  # PCMU silence; the recorder's cost does not depend on the audio
T1, T2, TIMER_B = 0.5, 4.0, 32.0
RTP_PORTS = (40000, 59999)  # outside the recorder's range and the tests' 30000-39999
_SEQ_TS = struct.Struct("!HI")
T = TypeVar("T")
R = TypeVar("R")


def emit(event: str, **figures: object) -> None:
    print(json.dumps({"event": event, **figures}), flush=True)


@dataclass(eq=False, slots=True)
class Call:
    index: int
    call_id: str
    tag: str
    socks: list[socket.socket]
    packets: list[bytearray]
    seq: int = 0
    ts: int = 0
    remote_tag: str | None = None

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


class PortBinder:
    """Binds RTP sockets on consecutive free ports of a fixed range."""

    def __init__(self, first: int, last: int) -> None:
        self.next, self.last = first, last

    def bind(self) -> socket.socket:
        while self.next <= self.last:
            port, self.next = self.next, self.next + 1
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((LOCAL, port))
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            return sock
        raise RuntimeError(f"no free local RTP port left in {RTP_PORTS}")


class Pacer:
    """The one timer loop that sends every stream's packets."""

    def __init__(self) -> None:
        self.phases: list[list[Call]] = [[] for _ in range(PHASES)]
        self.running = True
        self.measuring = False
        self.ticks = self.late_ticks = 0
        self.max_late_s = 0.0
        self.phase = "setup"  # then "window", then "after"
        self.late_by_phase: dict[str, int] = {}
        self.late_at: list[tuple[str, float, float]] = []
        self.scheduled = self.sent = self.send_errors = 0
        self.busy_s = 0.0  # time spent sending during the window
        self.max_send_s = 0.0  # the longest one tick's sends took

    def add(self, call: Call) -> None:
        self.phases[call.index % PHASES].append(call)

    async def run(self) -> None:
        start = time.perf_counter()
        k = 0
        while self.running:
            due = start + k * TICK_S
            await asyncio.sleep(max(0.0, due - time.perf_counter()))  # always yield to SIP
            began = time.perf_counter()
            late = began - due
            if late >= PACKET_S:
                self.late_ticks += 1
                self.late_by_phase[self.phase] = self.late_by_phase.get(self.phase, 0) + 1
                if len(self.late_at) < 10:  # the first few, to show when it fell behind
                    self.late_at.append((self.phase, round(began - start, 3), round(late * 1e3, 1)))
            self.max_late_s = max(self.max_late_s, late)
            self._send(self.phases[k % PHASES])
            took = time.perf_counter() - began
            self.max_send_s = max(self.max_send_s, took)
            if self.measuring:
                self.busy_s += took
            self.ticks += 1
            k += 1

    def _send(self, calls: list[Call]) -> None:
        pack_into = _SEQ_TS.pack_into
        for call in calls:
            call.seq = seq = (call.seq + 1) & 0xFFFF
            call.ts = ts = (call.ts + SAMPLES) & 0xFFFFFFFF
            for sock, packet in zip(call.socks, call.packets, strict=True):
                pack_into(packet, 2, seq, ts)
                try:
                    sock.send(packet)
                except OSError:
                    self.send_errors += 1
            self.scheduled += 2
        self.sent = self.scheduled - self.send_errors


@dataclass
class Pending:
    final: asyncio.Future[SipResponse]
    provisional: bool = False


@dataclass
class SipClient(asyncio.DatagramProtocol):
    """UDP SIP client transactions: retransmit until a final response (Timers A, B, E)."""

    target: tuple[str, int]
    pending: dict[tuple[str, str], Pending] = field(default_factory=dict)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            message = parse_message(data)
        except ValueError:
            return
        if not isinstance(message, SipResponse):
            return
        pending = self.pending.get((message.call_id, message.cseq.method))
        if pending is None:
            return  # e.g. a 200 OK retransmitted before our ACK arrived
        if message.status < 200:
            pending.provisional = True
        elif not pending.final.done():
            pending.final.set_result(message)

    def send(self, request: SipRequest) -> None:
        assert self.transport is not None
        self.transport.sendto(request.serialize(), self.target)

    async def transact(self, request: SipRequest, timeout: float = TIMER_B) -> SipResponse:
        key = (request.call_id, request.method)
        pending = Pending(asyncio.get_running_loop().create_future())
        self.pending[key] = pending
        deadline = time.perf_counter() + timeout
        interval = T1
        try:
            while True:
                if not pending.provisional:  # an INVITE answered 100 waits quietly
                    self.send(request)
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError(f"{request.method} {request.call_id}: no final response")
                await asyncio.wait({pending.final}, timeout=min(interval, remaining))
                if pending.final.done():
                    return pending.final.result()
                interval = min(2 * interval, T2)
        finally:
            del self.pending[key]


def offer_sdp(ports: list[int]) -> bytes:
    lines = ["v=0", f"o=sbc 1 1 IN IP4 {LOCAL}", "s=SIPREC", f"c=IN IP4 {LOCAL}", "t=0 0"]
    for label, port in enumerate(ports, start=1):
        lines += [f"m=audio {port} RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000",
                  "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15",
                  f"a=label:{label}", "a=sendonly"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode()


def metadata_xml(call_id: str, index: int) -> bytes:
    """An outside caller on stream 1 and our user u<index> on stream 2."""
    outside, ours = f"sip:+1555{index:07d}@sbc.example", f"sip:u{index}@acme.example.com"
    caller = Participant(id="p1", name="Outside caller", aors=(outside,), send=("st1",),
                         recv=("st2",))  # fmt: skip
    callee = Participant(id="p2", name=f"User {index}", aors=(ours,), send=("st2",),
                         recv=("st1",))  # fmt: skip
    metadata = RecordingMetadata(
        sessions={"s1": Session(id="s1", sip_session_ids=(call_id,))},
        participants={"p1": caller, "p2": callee},
        streams={s: Stream(id=s, session_id="s1", label=s[-1]) for s in ("st1", "st2")},
    )
    return metadata.serialize().encode()


class Generator:
    def __init__(self, sip: SipClient, host: str, port: int) -> None:
        self.sip, self.host, self.port = sip, host, port
        self.binder = PortBinder(*RTP_PORTS)
        self.pacer = Pacer()
        self.calls: list[Call] = []
        self.failed: dict[str, int] = {}

    def request(self, call: Call, method: str, cseq: int) -> SipRequest:
        local = f"{LOCAL}:{self.sip.port}"
        to_tag = f";tag={call.remote_tag}" if call.remote_tag else ""
        headers = Headers([
            ("Via", f"SIP/2.0/UDP {local};branch=z9hG4bK{secrets.token_hex(8)}"),
            ("From", f"<sip:sbc@{local}>;tag={call.tag}"),
            ("To", f"<sip:srs@{self.host}:{self.port}>{to_tag}"),
            ("Call-ID", call.call_id), ("CSeq", f"{cseq} {method}"), ("Max-Forwards", "70"),
            ("Contact", f"<sip:sbc@{local}>;+sip.src"),
        ])  # fmt: skip
        return SipRequest(method, SipUri.parse(f"sip:srs@{self.host}:{self.port}"), headers)

    def invite(self, call: Call) -> SipRequest:
        ports = [sock.getsockname()[1] for sock in call.socks]
        content_type, body = build_multipart(
            [BodyPart("application/sdp", body=offer_sdp(ports)),
             BodyPart("application/rs-metadata+xml",
                      Headers([("Content-Disposition", "recording-session")]),
                      metadata_xml(call.call_id, call.index))],
            "siprec-bench-boundary",
        )  # fmt: skip
        request = self.request(call, "INVITE", 1)
        request.headers.add("Require", "siprec")
        request.headers.add("Accept", "application/sdp, application/rs-metadata+xml")
        request.headers.add("Content-Type", content_type)
        request.body = body
        return request

    async def open_call(self, index: int) -> None:
        socks = [self.binder.bind(), self.binder.bind()]
        packets = []
        for _ in socks:
            ssrc = int.from_bytes(secrets.token_bytes(4), "big")
            packets.append(bytearray(struct.pack("!BBHII", 0x80, 0, 0, 0, ssrc) + PAYLOAD))
        call = Call(index, f"{secrets.token_hex(10)}@siprec-bench", secrets.token_hex(4), socks,
                    packets, seq=secrets.randbelow(0x10000))  # fmt: skip
        try:
            response = await self.sip.transact(self.invite(call))
        except TimeoutError:
            self._fail(call, "timeout")
            return
        call.remote_tag = response.to.tag
        self.sip.send(self.request(call, "ACK", 1))
        if response.status != 200:
            self._fail(call, str(response.status))
            return
        answer = SessionDescription.parse(response.body)
        for sock, media in zip(socks, answer.media, strict=True):
            connection = answer.connection_of(media)
            sock.connect((connection.host if connection else self.host, media.port))
        self.calls.append(call)
        self.pacer.add(call)

    def _fail(self, call: Call, why: str) -> None:
        call.close()
        self.failed[why] = self.failed.get(why, 0) + 1

    async def hang_up(self, call: Call) -> bool:
        try:
            response = await self.sip.transact(self.request(call, "BYE", 2))
        except TimeoutError:
            return False
        finally:
            call.close()
        return response.status == 200

    async def probe(self, timeout: float = 30.0) -> None:
        """Wait until the recorder answers OPTIONS."""
        probe = Call(-1, f"{secrets.token_hex(10)}@siprec-bench", "probe", [], [])
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                await self.sip.transact(self.request(probe, "OPTIONS", 1), timeout=0.5)
                return
            except TimeoutError:
                continue
        raise RuntimeError("the recorder did not answer OPTIONS")


async def paced(
    items: Sequence[T], action: Callable[[T], Awaitable[R]], cps: float, concurrency: int
) -> list[R]:
    """Run ``action(item)`` for each item, starting at most ``cps`` a second and at most
    ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()

    async def one(item: T) -> R:
        try:
            return await action(item)
        finally:
            gate.release()

    tasks = []
    start = time.perf_counter()
    for n, item in enumerate(items):
        await asyncio.sleep(max(0.0, start + n / cps - time.perf_counter()))
        await gate.acquire()
        tasks.append(loop.create_task(one(item)))
    return list(await asyncio.gather(*tasks))


async def main(args: argparse.Namespace) -> None:
    # No collector pause anywhere in the run: a full collection of this process's heap (the SIP
    # stack's modules and every call's objects) held the loop for 20-80 ms at a time during setup,
    # and the pacer fell that far behind. The run is short; the few cycles it leaves cost nothing.
    gc.collect()
    gc.freeze()
    gc.disable()
    loop = asyncio.get_running_loop()
    _, sip = await loop.create_datagram_endpoint(
        lambda: SipClient((args.host, args.port)), local_addr=(LOCAL, 0)
    )
    generator = Generator(sip, args.host, args.port)
    await generator.probe()
    pacing = loop.create_task(generator.pacer.run())
    started = time.perf_counter()
    await paced(list(range(args.calls)), generator.open_call, args.cps, args.concurrency)
    setup_s = time.perf_counter() - started

    pacer = generator.pacer
    emit("window_start", answered=len(generator.calls))
    pacer.phase = "window"
    cpu0, wall0, sent0 = _cpu(), time.perf_counter(), pacer.sent
    pacer.measuring = True
    await asyncio.sleep(args.seconds)
    pacer.measuring = False
    cpu_s, window_s = _cpu() - cpu0, time.perf_counter() - wall0
    window_packets = pacer.sent - sent0
    emit("window_end")
    pacer.phase = "after"
    pacer.running = False
    await pacing

    byes = await paced(generator.calls, generator.hang_up, args.cps * 2, args.concurrency)
    emit(
        "result", calls=args.calls, answered=len(generator.calls), failed=generator.failed,
        byes_ok=sum(1 for ok in byes if ok), setup_s=round(setup_s, 2),
        packets_scheduled=pacer.scheduled, packets_sent=pacer.sent,
        send_errors=pacer.send_errors, ticks=pacer.ticks, late_ticks=pacer.late_ticks,
        max_late_ms=round(pacer.max_late_s * 1000, 2), window_s=round(window_s, 3),
        window_packets=window_packets, window_cpu_s=round(cpu_s, 3),
        window_busy_s=round(pacer.busy_s, 3), late_by_phase=pacer.late_by_phase,
        max_send_ms=round(pacer.max_send_s * 1000, 2),
        late_at=pacer.late_at,
    )  # fmt: skip


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=LOCAL)
    parser.add_argument("--port", type=int, required=True, help="the recorder's SIP port")
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True, help="the measured window")
    parser.add_argument("--cps", type=float, default=100.0, help="INVITEs per second at most")
    parser.add_argument("--concurrency", type=int, default=32, help="INVITEs pending at most")
    return parser.parse_args()


if __name__ == "__main__":
    uvloop.run(main(parse_args()))
