"""Load generator for bench/proxy.py: N plain phone calls through the recording proxy, both ends.

One process (uvloop, pinned to its own core by the caller) plays both parties of every call
with the project's SIP user agent (``callrec.telephony.ua``): the callers' endpoint INVITEs
``sip:u<n>@acme.example.com`` at the proxy (``--proxy``), the proxy forwards each call to its
upstream, our callee endpoint (``--callee-port``), which answers 180 then 200. Only the media is
the generator's own: instead of a task per leg, one pacer sends every leg's 20 ms PCMU packet
(172 bytes) in ``PHASES`` slots per 20 ms, and each received packet is counted, not kept.

Latency: every payload starts with the send time (monotonic ns) and the same value XORed with
a constant; the receiving leg takes ``arrival - send`` for each packet whose two copies agree.
The proxy re-stamps RTP headers (its own SSRC, sequence and timestamps) but relays payloads as
they are, except the frames a beep is mixed into: those fail the check and are counted as
``unstamped``. The arrival time is taken in the datagram callback, so the figure includes the
generator's own loop delay; ``--direct`` (callers call the callee endpoint, no proxy) measures
that baseline.

Loss: per call and direction, packets the sender sent minus packets the other end received
(never below 0), counted after the pacer stopped and the last packets had 0.5 s to arrive.

Events go to stdout, one JSON object a line: ``window_start``, ``window_end``, ``result``.
Usage: python bench/_proxy_load.py --proxy HOST:PORT --callee-port PORT --calls N --seconds S
"""

from __future__ import annotations

import argparse
import array
import asyncio
import gc
import json
import os
import socket
import struct
import time
from dataclasses import dataclass, field

import uvloop
from _siprec_load import paced

from callrec.media.synth import FRAME
from callrec.telephony.sip import Headers, SipRequest, SipUri
from callrec.telephony.ua import (
    Answer,
    Callee,
    CalleeAgent,
    Caller,
    CallFailed,
    Codec,
    Pcm,
    RtpLeg,
)
from callrec.telephony.ua import SipEndpoint as Endpoint
from callrec.telephony.ua.media import Address

LOCAL = "127.0.0.1"
PACKET_S = 0.020
PHASES = 10  # a slot every 2 ms: a received packet waits at most one slot's sending for the loop
TICK_S = PACKET_S / PHASES
_SKIP_S = 0.1
_HEADER = struct.Struct("!BBHII")
_STAMP = struct.Struct("!QQ")
_CHECK = 0x5DEECE66_0B5E55ED
_SILENCE = b"\xff" * (FRAME - _STAMP.size)  # PCMU silence after the stamp


def emit(event: str, **figures: object) -> None:
    print(json.dumps({"event": event, **figures}), flush=True)


@dataclass(eq=False)
class Stats:
    measuring: bool = False
    received: int = 0  # packets that arrived in the window, stamped or not
    latencies_ns: array.array[int] = field(default_factory=lambda: array.array("q"))


class Pacer:
    """The one timer loop that sends every leg's packets. A tick 20 ms or more behind its time
    is late; one 100 ms behind (the machine stalled us) skips the missed slots rather than
    bursting them all out at once: what was not sent is not expected either."""

    def __init__(self, stats: Stats) -> None:
        self.phases: list[list[BenchLeg]] = [[] for _ in range(PHASES)]
        self.stats = stats
        self.count = 0
        self.running = True
        self.ticks = self.late_ticks = self.skipped_ticks = 0
        self.window_ticks = self.window_late_ticks = self.window_skipped_ticks = 0
        self.max_late_s = self.window_max_late_s = 0.0

    def add(self, leg: BenchLeg) -> None:
        self.phases[self.count % PHASES].append(leg)
        self.count += 1

    async def run(self) -> None:
        start = time.perf_counter()
        k = 0
        while self.running:
            due = start + k * TICK_S
            await asyncio.sleep(max(0.0, due - time.perf_counter()))  # always yield to SIP
            late = time.perf_counter() - due
            self._note(late)
            if late >= _SKIP_S:
                behind = int(late / TICK_S)
                self.skipped_ticks += behind
                if self.stats.measuring:
                    self.window_skipped_ticks += behind
                k += behind
            now = time.monotonic_ns
            for leg in self.phases[k % PHASES]:
                if leg.audio_on:
                    leg.send_stamped(now())
            self.ticks += 1
            k += 1

    def _note(self, late: float) -> None:
        self.max_late_s = max(self.max_late_s, late)
        if late >= PACKET_S:
            self.late_ticks += 1
        if self.stats.measuring:
            self.window_ticks += 1
            self.window_max_late_s = max(self.window_max_late_s, late)
            if late >= PACKET_S:
                self.window_late_ticks += 1


@dataclass(eq=False)
class BenchLeg(RtpLeg):
    """An RTP leg that counts what it gets and sends only when the pacer says so."""

    pacer: Pacer | None = None
    stats: Stats | None = None
    got: int = 0
    unstamped: int = 0
    send_errors: int = 0
    packet: bytearray = field(default_factory=bytearray)
    sock: socket.socket | None = None

    def send_to(self, remote: Address, codec: Codec) -> None:
        first = self.remote is None
        self.remote, self.codec = remote, codec
        if first and self.pacer is not None:
            self.packet = bytearray(_HEADER.pack(0x80, codec.payload_type, 0, 0, self.ssrc))
            self.packet += bytes(_STAMP.size) + _SILENCE
            self.pacer.add(self)

    def send_stamped(self, now_ns: int) -> None:
        self._seq = seq = (self._seq + 1) & 0xFFFF
        self._ts_base = ts = (self._ts_base + FRAME) & 0xFFFFFFFF
        packet = self.packet
        struct.pack_into("!HI", packet, 2, seq, ts)
        _STAMP.pack_into(packet, 12, now_ns, now_ns ^ _CHECK)
        sock, remote = self.sock, self.remote
        try:
            assert sock is not None and remote is not None
            sock.sendto(packet, remote)
            self.sent += 1
        except OSError:
            self.send_errors += 1

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        arrived = time.monotonic_ns()
        self.got += 1
        if len(data) < 12 + _STAMP.size:
            self.unstamped += 1
            return
        sent, check = _STAMP.unpack_from(data, 12)
        stamped = sent ^ _CHECK == check
        if not stamped:
            self.unstamped += 1  # a frame the beep was mixed into (or one of the proxy's own)
        stats = self.stats
        if stats is not None and stats.measuring:
            stats.received += 1
            if stamped:
                stats.latencies_ns.append(arrived - sent)


class Generator:
    def __init__(self, callers: Endpoint, callees: Endpoint, target: Address) -> None:
        self.callers, self.target = callers, target
        self.stats = Stats()
        self.pacer = Pacer(self.stats)
        self.calls: dict[int, Caller] = {}
        self.failed: dict[str, int] = {}
        self.agent = CalleeAgent(callees, Answer(), open_leg=self.open_leg)
        self.give_up_after = 10**9

    async def open_leg(self, host: str, audio: Pcm | None) -> RtpLeg:
        # The pacer sends on the socket itself: a plain sendto costs a third of the transport's.
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((host, 0))
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        _, leg = await loop.create_datagram_endpoint(
            lambda: BenchLeg(pacer=self.pacer, stats=self.stats, sock=sock), sock=sock
        )
        return leg

    async def probe(self) -> None:
        """Wait until the proxy answers OPTIONS (each try retransmits for up to 32 s)."""
        uri = SipUri.parse(f"sip:probe@{self.target[0]}:{self.target[1]}")
        for attempt in range(3):
            headers = Headers([
                ("Via", self.callers.via()), ("From", "<sip:bench@generator.invalid>;tag=probe"),
                ("To", f"<{uri}>"), ("Call-ID", f"probe-{attempt}-{time.monotonic_ns()}"),
                ("CSeq", "1 OPTIONS"), ("Max-Forwards", "70"),
            ])  # fmt: skip
            response = await self.callers.transact(SipRequest("OPTIONS", uri, headers), self.target)
            if response.status == 200:
                return
        raise RuntimeError("the proxy did not answer OPTIONS")

    async def open_call(self, index: int) -> None:
        if sum(self.failed.values()) > self.give_up_after:
            self._fail("not tried")  # the proxy is failing calls: the run is over anyway
            return
        outside = f"sip:+1555{index:07d}@trunk.example.com"
        caller = Caller(self.callers, self.target, f"sip:u{index}@acme.example.com", outside,
                        open_leg=self.open_leg)  # fmt: skip
        await caller.start()
        try:
            status = await caller.wait_answer(timeout=60)
        except CallFailed:
            status = 408
        if status != 200:
            self._fail(str(status))
            await caller.close()
            return
        self.calls[index] = caller

    def _fail(self, why: str) -> None:
        self.failed[why] = self.failed.get(why, 0) + 1

    async def hang_up(self, index: int) -> bool:
        caller = self.calls[index]
        try:
            return await caller.hang_up() == 200
        finally:
            await caller.close()

    def callees_by_index(self) -> dict[int, Callee]:
        found: dict[int, Callee] = {}
        for callee in self.agent.calls:
            user = callee.tx.request.uri.user or ""
            if user.startswith("u") and user[1:].isdigit():
                found[int(user[1:])] = callee
        return found

    def loss(self) -> dict[str, int]:
        """Per call and direction: sent by one end minus received by the other."""
        callees = self.callees_by_index()
        expected = received = lost = unstamped = send_errors = unpaired = 0
        for index, caller in self.calls.items():
            callee = callees.get(index)
            a, b = caller.leg, callee.leg if callee else None
            if not isinstance(a, BenchLeg) or not isinstance(b, BenchLeg):
                unpaired += 1
                continue
            for sender, receiver in ((a, b), (b, a)):
                expected += sender.sent
                received += receiver.got
                lost += max(0, sender.sent - receiver.got)
                unstamped += receiver.unstamped
                send_errors += sender.send_errors
        return {"packets_expected": expected, "packets_received": received,
                "packets_lost": lost, "packets_unstamped": unstamped,
                "send_errors": send_errors, "unpaired_calls": unpaired}  # fmt: skip


def percentiles_ms(values: array.array[int]) -> dict[str, float | None]:
    if not values:
        return {"latency_p50_ms": None, "latency_p99_ms": None, "latency_max_ms": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6, 3)

    return {"latency_p50_ms": at(0.50), "latency_p99_ms": at(0.99),
            "latency_max_ms": round(ordered[-1] / 1e6, 3)}  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    callers = await Endpoint.open(LOCAL)
    callees = await Endpoint.open(LOCAL, args.callee_port)
    target = (LOCAL, callees.port) if args.direct else _hostport(args.proxy)
    generator = Generator(callers, callees, target)
    generator.give_up_after = max(10, args.calls // 20)
    if not args.direct:
        await generator.probe()
    loop = asyncio.get_running_loop()
    pacing = loop.create_task(generator.pacer.run())
    started = time.perf_counter()
    await paced(list(range(args.calls)), generator.open_call, args.cps, args.concurrency)
    setup_s = time.perf_counter() - started

    gc.collect()
    gc.disable()  # no collector pause inside the window
    emit("window_start", answered=len(generator.calls))
    cpu0, wall0 = _cpu(), time.perf_counter()
    generator.stats.measuring = True
    await asyncio.sleep(args.seconds)
    generator.stats.measuring = False
    cpu_s, window_s = _cpu() - cpu0, time.perf_counter() - wall0
    emit("window_end")
    pacer = generator.pacer
    pacer.running = False
    await pacing
    gc.enable()
    await asyncio.sleep(0.5)  # the last packets in flight
    loss = generator.loss()
    window_packets = len(generator.stats.latencies_ns)
    latency = percentiles_ms(generator.stats.latencies_ns)

    byes = await paced(sorted(generator.calls), generator.hang_up, args.cps * 2, args.concurrency)
    await asyncio.sleep(0.5)  # the callees' 200s to our BYEs are out before we close
    await generator.agent.close()
    await callers.close()
    await callees.close()
    emit(
        "result", calls=args.calls, answered=len(generator.calls), failed=generator.failed,
        byes_ok=sum(1 for ok in byes if ok), setup_s=round(setup_s, 2), **loss, **latency,
        latency_samples=window_packets, window_received=generator.stats.received,
        ticks=pacer.ticks, late_ticks=pacer.late_ticks,
        skipped_ticks=pacer.skipped_ticks, max_late_ms=round(pacer.max_late_s * 1000, 2),
        window_ticks=pacer.window_ticks, window_late_ticks=pacer.window_late_ticks,
        window_skipped_ticks=pacer.window_skipped_ticks,
        window_max_late_ms=round(pacer.window_max_late_s * 1000, 2), window_s=round(window_s, 3),
        window_cpu_s=round(cpu_s, 3), direct=args.direct,
    )  # fmt: skip


def _hostport(text: str) -> Address:
    host, _, port = text.rpartition(":")
    return host, int(port)


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proxy", default=None, help="the proxy's SIP address, host:port")
    parser.add_argument("--callee-port", type=int, default=0, help="our callees' SIP port")
    parser.add_argument("--direct", action="store_true", help="no proxy: call our callees")
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True, help="the measured window")
    parser.add_argument("--cps", type=float, default=100.0, help="INVITEs per second at most")
    parser.add_argument("--concurrency", type=int, default=32, help="INVITEs pending at most")
    args = parser.parse_args()
    if not args.direct and not args.proxy:
        parser.error("--proxy HOST:PORT or --direct")
    return args


if __name__ == "__main__":
    uvloop.run(main(parse_args()))
