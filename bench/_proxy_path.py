"""Micro-benchmark of the recording proxy's per-packet relay path, with real sockets.

N bridged, recorded calls with the beep on, built from the proxy's own pieces (``MediaLeg``,
``Bridge``, ``CallRecording``'s tap, ``BeepMixer``, ``CallRecorder``) on a uvloop loop with a
real UDP socket per leg. Each round (20 ms of call time) feeds every leg a realistic PCMU packet
(12-byte header, 160-byte payload, sequence and timestamp advancing as a sender's do) through
``RtpEndpoint.datagram_received``, in the interleaved order packets of many calls arrive; the
relayed packet goes out through the leg's uvloop transport to a socket that drains nothing (the
kernel drops it when full, after the send's full cost). The clock advances 20 ms per round, so
beeps fall in every ``--beep`` seconds as in a live call and every capture is flushed once a
second. Prints µs of the relaying thread's CPU time per relayed packet (CPU time, so another
process taking the core does not count), best of a few runs; the bench's own packing of the
packets is measured alone and subtracted. The capture's background fsync thread is not counted.

``--no-send`` replaces the transports' ``sendto`` with a no-op (the Python side alone);
``--no-record`` leaves the calls unrecorded; ``--no-beep`` turns the beep off.

Usage: python bench/_proxy_path.py [--calls 200] [--seconds 10] [--beep 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import struct
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import uvloop

from callrec.media.beep import BeepMixer, tone
from callrec.telephony import rtp_endpoint
from callrec.telephony.proxy.media import Bridge, Codec, MediaLeg
from callrec.telephony.proxy.recording import CallRecording
from callrec.telephony.rtp_endpoint import RtpEndpoint, open_endpoint

HOST = "127.0.0.1"
PCMU = Codec(0, 101)
HEADER = struct.Struct("!BBHII")


class _Clock:
    """Stands in for ``time.monotonic`` in the endpoint module: a run takes no wall time."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now


class _NullTransport:
    def __init__(self, real: Any) -> None:
        self.real = real

    def sendto(self, data: bytes, addr: Any = None) -> None:
        return None

    def close(self) -> None:
        self.real.close()


async def _calls(
    count: int, sink_port: int, tmp: Path, record: bool, beep_s: float, send: bool
) -> tuple[list[RtpEndpoint], list[CallRecording]]:
    endpoints, recordings = [], []
    for n in range(count):
        legs = []
        for _side in range(2):
            endpoint = RtpEndpoint(sink=lambda data, now: None, started=0.0)
            await open_endpoint(HOST, 0, endpoint)  # any free port
            if not send:
                endpoint.transport = cast(Any, _NullTransport(endpoint.transport))
            legs.append(MediaLeg(endpoint, 0, PCMU, (HOST, sink_port)))
            endpoints.append(endpoint)
        bridge = Bridge(legs[0], legs[1])
        if record:
            recording = CallRecording(cast(Any, None), tmp, f"bench-{n}")
            recording.ref = cast(Any, SimpleNamespace(recording_id=uuid.uuid4()))
            recording._open(bridge, datetime.now(UTC))
            recordings.append(recording)
        if beep_s:
            pcm = tone(1400.0, 200)
            for out in (bridge.a.out, bridge.b.out):
                # As BeepClock does, with the first beep at a different place for each call.
                origin = out.expected_ts(rtp_endpoint.time.monotonic() - beep_s * n / count)
                out.beep = BeepMixer(pcm, beep_s, origin)
    return endpoints, recordings


def run(calls: int, seconds: float, beep_s: float, record: bool, send: bool, tmp: Path) -> float:
    clock = _Clock()
    module = vars(rtp_endpoint)
    saved = module["time"]
    module["time"] = clock
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind((HOST, 0))
    loop = uvloop.new_event_loop()
    try:
        endpoints, recordings = loop.run_until_complete(
            _calls(calls, sink.getsockname()[1], tmp, record, beep_s, send)
        )
        source = (HOST, 40000)
        packets = [
            bytearray(HEADER.pack(0x80, 0, n, 0, 0x1000 + n) + b"\xff" * 160)
            for n in range(len(endpoints))
        ]
        rounds = int(seconds / 0.020)
        gc.collect()
        gc.disable()  # as the proxy's collections are rare; here they would only add noise
        began = time.thread_time()
        for r in range(rounds):
            clock.now += 0.020
            for endpoint, packet in zip(endpoints, packets, strict=True):
                HEADER.pack_into(packet, 0, 0x80, 0, (r + 7) & 0xFFFF, r * 160, id(packet) & 0xFFFF)
                endpoint.datagram_received(bytes(packet), source)
        elapsed = time.thread_time() - began
        # The loop's own cost (packing and copying the packet), measured alone.
        began = time.thread_time()
        for r in range(rounds):
            for _endpoint, packet in zip(endpoints, packets, strict=True):
                HEADER.pack_into(packet, 0, 0x80, 0, (r + 7) & 0xFFFF, r * 160, id(packet) & 0xFFFF)
                bytes(packet)
        overhead = time.thread_time() - began
        gc.enable()
        for recording in recordings:
            assert recording.recorder is not None
            recording.recorder.close()
        for endpoint in endpoints:
            endpoint.close()
        loop.run_until_complete(asyncio.sleep(0))
        return (elapsed - overhead) * 1e6 / (rounds * len(endpoints))
    finally:
        module["time"] = saved
        loop.close()
        sink.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--beep", type=float, default=5.0, help="beep period (0: no beep)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--no-send", action="store_true")
    args = parser.parse_args()
    results = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-proxy-path-") as name:
            results.append(
                run(args.calls, args.seconds, args.beep, not args.no_record, not args.no_send,
                    Path(name))
            )  # fmt: skip
    print(json.dumps({"bench": "proxy_path", "calls": args.calls, "beep_s": args.beep,
                      "record": not args.no_record, "send": not args.no_send,
                      "us_per_packet": round(min(results), 2),
                      "runs": [round(r, 2) for r in results]}))  # fmt: skip


if __name__ == "__main__":
    main()
