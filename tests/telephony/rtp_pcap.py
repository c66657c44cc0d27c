"""pcap files of RTP for SIPp's ``play_pcap_audio``: SIPp sends each packet to the remote
party's first m=audio port plus (the packet's destination port minus the lowest in the file), so
streams to ports 6000 and 6002 feed a SIPREC server's two streams at P and P+2.

A stream's tone is sent as PCMU by default, or as G.722 (payload type 9): a 16 kHz tone encoded as
one stream, 160 bytes per 20 ms packet, timestamps on the 8000 Hz RTP clock like G.711's."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callrec.media import g711, g722

RATE = 8000
FRAME = 160
PT_PCMU = 0
PT_G722 = 9
PT_EVENT = 101


@dataclass(frozen=True)
class Stream:
    dport: int
    tone_hz: float
    ssrc: int
    dtmf: tuple[str, float] | None = None  # (digit, at seconds)
    payload_type: int = PT_PCMU  # or PT_G722


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _frame(sport: int, dport: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))  # fmt: skip
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ethernet = b"\x00" * 12 + b"\x08\x00"
    return ethernet + ip + udp


def _rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return (
        struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts, ssrc) + payload
    )


def _dtmf_packets(digit: str, start_ts: int) -> list[tuple[int, bytes, bool]]:
    """RFC 4733: updates every 20 ms for 100 ms, then the end packet three times."""
    event = "0123456789*#".index(digit)
    packets = []
    for n, duration in enumerate(range(FRAME, 5 * FRAME + 1, FRAME)):
        packets.append((duration, struct.pack("!BBH", event, 10, duration), n == 0))
    end = struct.pack("!BBH", event, 0x80 | 10, 6 * FRAME)
    packets += [(6 * FRAME, end, False)] * 3
    return [(start_ts, payload, marker) for _, payload, marker in packets]


def _audio(stream: Stream, ticks: int) -> bytes:
    """The stream's tone encoded, one payload byte per 8000 Hz tick for either codec."""
    rate = 2 * RATE if stream.payload_type == PT_G722 else RATE
    t = np.arange(ticks * rate // RATE) / rate
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * stream.tone_hz * t)).astype(np.int16)
    return g722.encode(pcm) if stream.payload_type == PT_G722 else g711.encode(PT_PCMU, pcm)


def write_pcap(path: Path, streams: list[Stream], seconds: float) -> None:
    frames = int(seconds * RATE) // FRAME
    records: list[tuple[float, bytes]] = []
    for stream in streams:
        audio = _audio(stream, frames * FRAME)
        dtmf: dict[int, tuple[int, bytes, bool]] = {}
        if stream.dtmf is not None:
            digit, at = stream.dtmf
            first = int(at * 50)
            for i, packet in enumerate(_dtmf_packets(digit, first * FRAME)):
                dtmf[first + i] = packet
        for f in range(frames):
            if f in dtmf:  # the digit replaces the audio, as a phone sends it
                ts, payload, marker = dtmf[f]
                rtp = _rtp(PT_EVENT, f + 1, ts, stream.ssrc, payload, marker)
            else:
                payload = audio[f * FRAME : (f + 1) * FRAME]
                rtp = _rtp(stream.payload_type, f + 1, f * FRAME, stream.ssrc, payload, f == 0)
            records.append((f * 0.02, _frame(5000 + stream.dport % 10, stream.dport, rtp)))
    records.sort(key=lambda r: r[0])
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for at, frame in records:
            sec, usec = int(at), round((at - int(at)) * 1_000_000)
            out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
