"""Micro-benchmark of the recorder's per-packet path, without sockets or an event loop.

Feeds realistic PCMU packets (12-byte header, 160-byte payload, sequence and timestamp advancing
as a sender's do) for N two-leg calls through the same chain a received datagram takes:
``RtpEndpoint.datagram_received`` -> ``Session.on_rtp`` -> ``CallRecorder.on_packet``
(``parse_header``, ``LegTimeline.place``, ``CaptureWriter.append``, the once-a-second flush), in
the interleaved order packets of many calls arrive. The clock advances 20 ms per round, so every
capture is flushed once a second as on a live server. Prints µs per packet (best of a few runs).

Usage: python bench/_capture_path.py [--calls 200] [--seconds 5]
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import struct
import tempfile
import time
from pathlib import Path
from typing import cast

from callrec.telephony import rtp_endpoint
from callrec.telephony.recorder import CallRecorder
from callrec.telephony.rtp_endpoint import RtpEndpoint
from callrec.telephony.srs import Session

SOURCE = ("127.0.0.1", 40000)


class _Clock:
    """Stands in for ``time.monotonic`` in the endpoint module, so a run takes no wall time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class _Segment:
    """What ``Session.on_rtp`` reads from a session."""

    def __init__(self, recorder: CallRecorder) -> None:
        self.recorder = recorder
        self.segment_started = 1000.0


def run(calls: int, seconds: float, tmp: Path) -> float:
    clock = _Clock()
    module = vars(rtp_endpoint)
    saved = module["time"]
    module["time"] = clock
    try:
        endpoints, packets, recorders = [], [], []
        for n in range(calls):
            recorder = CallRecorder(tmp / f"c{n}.crec", ["1", "2"], [101, 101], 0)
            segment = cast(Session, _Segment(recorder))
            recorders.append(recorder)
            for leg in range(2):
                endpoint = RtpEndpoint(
                    sink=functools.partial(Session.on_rtp, segment, leg), started=0.0
                )
                endpoints.append(endpoint)
                packets.append(bytearray(struct.pack("!BBHII", 0x80, 0, n, 0, n) + b"\xff" * 160))
        rounds = int(seconds / 0.020)
        gc.collect()
        began = time.perf_counter()
        for r in range(rounds):
            clock.now += 0.020
            for endpoint, packet in zip(endpoints, packets, strict=True):
                struct.pack_into("!HI", packet, 2, (r + 7) & 0xFFFF, r * 160)
                endpoint.datagram_received(bytes(packet), SOURCE)
        elapsed = time.perf_counter() - began
        for recorder in recorders:
            recorder.close()
        # Subtract the loop's own cost (packing and copying the packet), measured alone.
        began = time.perf_counter()
        for r in range(rounds):
            for _endpoint, packet in zip(endpoints, packets, strict=True):
                struct.pack_into("!HI", packet, 2, (r + 7) & 0xFFFF, r * 160)
                bytes(packet)
        overhead = time.perf_counter() - began
        return (elapsed - overhead) * 1e6 / (rounds * len(endpoints))
    finally:
        module["time"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-path-") as name:
            results.append(run(args.calls, args.seconds, Path(name)))
    print(json.dumps({"bench": "capture_path", "calls": args.calls,
                      "us_per_packet": round(min(results), 2),
                      "runs": [round(r, 2) for r in results]}))  # fmt: skip


if __name__ == "__main__":
    main()
