"""The capture of one SIPREC session, fed real RTP bytes: loss, reordering, duplicates, a late
stream and a digit, checked on the rendered audio."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np

from callrec.media import g711
from callrec.media.mixdown import render_capture
from callrec.telephony.recorder import CallRecorder

RATE, FRAME = 8000, 160


def rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq, ts, ssrc) + payload


def tone(hz: float, frames: int) -> bytes:
    t = np.arange(frames * FRAME) / RATE
    return g711.encode(0, (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16))


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def render(path: Path) -> tuple[np.ndarray, np.ndarray]:
    chunks = list(render_capture(path))
    return (
        np.concatenate([c.legs[0] for c in chunks]),
        np.concatenate([c.legs[1] for c in chunks]),
    )


def test_loss_reordering_and_duplicates_keep_the_timeline(tmp_path: Path) -> None:
    path = tmp_path / "call.crec"
    recorder = CallRecorder(path, ["caller", "callee"], [101, 101], started_at_ms=0)
    audio_a, audio_b = tone(400, 150), tone(1000, 150)
    packets = []
    for f in range(150):
        at = f * 0.02
        packets.append(
            (at, 0, rtp(0, 1000 + f, 50_000 + f * FRAME, 11, audio_a[f * FRAME : (f + 1) * FRAME]))
        )
        if f % 10 != 3:  # 10 % loss on the callee's stream
            packets.append(
                (at, 1, rtp(0, 7 + f, 9_000 + f * FRAME, 22, audio_b[f * FRAME : (f + 1) * FRAME]))
            )
    rng = random.Random(4)
    for i in range(0, len(packets) - 6, 6):  # reorder within 60 ms windows
        window = packets[i : i + 6]
        rng.shuffle(window)
        packets[i : i + 6] = window
    packets += packets[40:45]  # duplicates arriving late
    for at, leg, data in packets:
        recorder.on_packet(leg, data, at)
    recorder.close()

    a, b = render(path)
    assert len(a) == len(b) == 150 * FRAME  # neither loss nor reordering shortens it
    assert abs(dominant_hz(a[:4000]) - 400) < 10
    assert abs(dominant_hz(b[:4000]) - 1000) < 10
    lost = b.reshape(-1, FRAME)[3::10]
    assert np.all(lost == 0)  # a lost packet is silence at its own place
    stats = recorder.stats()
    assert stats["callee"].lost == 15
    assert stats["caller"].duplicates + stats["callee"].duplicates == 5


def test_a_stream_that_starts_late_is_placed_at_its_arrival(tmp_path: Path) -> None:
    path = tmp_path / "late.crec"
    recorder = CallRecorder(path, ["caller", "callee"], [None, None], started_at_ms=0)
    audio = tone(700, 100)
    for f in range(100):
        recorder.on_packet(0, rtp(0, f, f * FRAME, 1, audio[f * FRAME : (f + 1) * FRAME]), f * 0.02)
    for f in range(50):  # the callee's stream only starts 1 s in
        recorder.on_packet(
            1, rtp(0, f, 777 + f * FRAME, 2, audio[f * FRAME : (f + 1) * FRAME]), 1.0 + f * 0.02
        )
    recorder.close()
    a, b = render(path)
    assert len(a) == len(b) == 100 * FRAME
    assert np.all(b[: RATE - FRAME] == 0) and np.any(b[RATE + FRAME :] != 0)


def test_a_digit_is_an_event_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "dtmf.crec"
    recorder = CallRecorder(path, ["caller", "callee"], [101, 101], started_at_ms=0)
    audio = tone(400, 50)
    for f in range(50):
        recorder.on_packet(0, rtp(0, f, f * FRAME, 5, audio[f * FRAME : (f + 1) * FRAME]), f * 0.02)
    start = 50 * FRAME
    for i, duration in enumerate((160, 320, 480, 640, 800)):
        payload = struct.pack("!BBH", 5, 10, duration)
        recorder.on_packet(0, rtp(101, 50 + i, start, 5, payload, marker=i == 0), 1.0 + i * 0.02)
    for i in range(3):
        payload = struct.pack("!BBH", 5, 0x80 | 10, 960)
        recorder.on_packet(0, rtp(101, 55 + i, start, 5, payload), 1.1 + i * 0.02)
    recorder.close()
    events = recorder.events()
    assert [(e.leg, e.digit, e.duration_ms) for e in events] == [("caller", "5", 120)]
    assert events[0].at_ms == 1000
    a, _ = render(path)
    assert len(a) == 50 * FRAME  # the digit added no audio


def test_foreign_payload_types_are_counted_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "cn.crec"
    recorder = CallRecorder(path, ["caller"], [None], started_at_ms=0)
    recorder.on_packet(0, rtp(13, 1, 0, 9, b"\x40"), 0.0)  # comfort noise
    recorder.on_packet(0, b"\x00garbage", 0.01)
    recorder.close()
    assert recorder.legs[0].ignored == 2
    assert list(render_capture(path)) == []
