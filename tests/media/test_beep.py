"""The compliance beep placed by RTP timestamp: every frame gets exactly its part of the tone,
beeps land a period apart whatever the frame boundaries, and beep 0 (the bridge) is silent."""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest

from callrec.media.beep import BeepMixer, decode_frame, encode_frame, mix_frame, tone

RATE = 8000


def _samples(pcm: bytes) -> np.ndarray:
    return np.array(struct.unpack(f"<{len(pcm) // 2}h", pcm), dtype=np.float64)


def _beep_timeline(mixer: BeepMixer, first_ts: int, frames: int, size: int = 160) -> np.ndarray:
    out = []
    for i in range(frames):
        part = mixer.overlay(first_ts + i * size, size)
        out.append(_samples(part) if part is not None else np.zeros(size))
    return np.concatenate(out)


def test_the_tone_is_at_its_frequency_and_level_with_soft_edges() -> None:
    pcm = _samples(tone(1400.0, 200, level=0.2))
    assert len(pcm) == 1600
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(np.argmax(spectrum) * RATE / len(pcm) - 1400) < 10
    assert abs(pcm).max() / 32767 == pytest.approx(0.2, abs=0.01)
    assert abs(pcm[0]) < 50 and abs(pcm[-1]) < 50  # no click


@pytest.mark.parametrize("origin", [0, 37, 2**32 - 500])  # unaligned, and across the ts wrap
def test_beeps_start_a_period_apart_from_the_origin_and_not_at_it(origin: int) -> None:
    mixer = BeepMixer(tone(1400.0, 200), 1.0, origin)
    timeline = _beep_timeline(mixer, origin - 800, 2 * 50 + 20)  # from 0.1 s before to 2.3 s
    loud = np.flatnonzero(np.abs(timeline) > 100)
    starts = [loud[0]] + [b for a, b in itertools.pairwise(loud) if b - a > 100]
    # Relative to the origin (800 samples in): beeps at 1 s and 2 s, none at 0.
    assert [round((s - 800) / RATE, 2) for s in starts] == [1.0, 2.0]
    beep = loud[(loud >= starts[0]) & (loud < starts[0] + 2000)]
    assert (beep[-1] - beep[0]) / RATE == pytest.approx(0.2, abs=0.01)


def test_mixing_adds_the_beep_to_the_audio_in_the_frames_codec() -> None:
    mixer = BeepMixer(tone(1400.0, 200), 1.0, 0)
    voice = (0.1 * 32767 * np.sin(2 * np.pi * 400 * np.arange(160) / RATE)).astype("<i2")
    payload = encode_frame(0, voice.tobytes())
    assert mixer.mix(0, payload, 160) is payload  # no beep due: untouched
    mixed = _samples(decode_frame(0, mixer.mix(0, payload, RATE + 320)))
    spectrum = np.abs(np.fft.rfft(mixed))
    freqs = np.fft.rfftfreq(160, 1 / RATE)
    strong = {round(float(f)) for f in freqs[spectrum > spectrum.max() / 4]}
    assert any(abs(f - 400) <= 50 for f in strong) and any(abs(f - 1400) <= 50 for f in strong)
    only = mixer.frame(8, RATE + 320)
    assert only is not None and len(only) == 160
    assert mixer.frame(8, 320) is None


def test_mix_frame_saturates() -> None:
    loud = struct.pack("<2h", 30000, -30000)
    assert struct.unpack("<2h", mix_frame(loud, loud)) == (32767, -32768)


def test_bad_beeps_are_refused() -> None:
    with pytest.raises(ValueError, match="5000"):
        tone(5000.0, 200)
    with pytest.raises(ValueError, match="longer than its period"):
        BeepMixer(tone(1400.0, 200), 0.1, 0)  # longer than its period
