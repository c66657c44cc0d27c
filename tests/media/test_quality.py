from __future__ import annotations

import numpy as np
import pytest

from callrec.media.quality import QualityMeter
from tests.media.synth import RATE, tone

SILENCE = np.zeros(RATE, np.int16)


def seconds(n: float) -> np.ndarray:
    return np.zeros(round(n * RATE), np.int16)


def conversation() -> tuple[np.ndarray, np.ndarray]:
    """Caller talks 0-3 s, callee 3-6 s, then both 6-7 s."""
    caller = np.concatenate([tone(1000, 3.0), seconds(3.0), tone(1000, 1.0)])
    callee = np.concatenate([seconds(3.0), tone(400, 4.0, start=3 * RATE)])
    return caller, callee


def feed(meter: QualityMeter, legs: list[np.ndarray], chunk: int) -> QualityMeter:
    for i in range(0, len(legs[0]), chunk):
        meter.add([leg[i : i + chunk] for leg in legs])
    return meter


def test_a_healthy_two_sided_call_raises_no_flags() -> None:
    caller, callee = conversation()
    meter = feed(QualityMeter(RATE, 2), [caller, callee], 30 * RATE)
    assert meter.flags() == []
    assert meter.active_seconds == pytest.approx((4.0, 4.0), abs=0.021)
    assert meter.duration_s == 7.0
    assert meter.mixed_active_ratio == pytest.approx(1.0)


def test_chunk_sizes_do_not_change_the_measurement() -> None:
    caller, callee = conversation()
    whole = feed(QualityMeter(RATE, 2), [caller, callee], 10 * RATE)
    odd = feed(QualityMeter(RATE, 2), [caller, callee], 333)
    assert odd.active_seconds == whole.active_seconds
    assert odd.mixed_active_ratio == whole.mixed_active_ratio


def test_nothing_recorded_is_zero_length() -> None:
    assert QualityMeter(RATE, 2).flags() == ["zero_length"]
    meter = QualityMeter(RATE, 2)
    meter.add([seconds(0), seconds(0)])
    assert meter.flags() == ["zero_length"]
    assert meter.active_seconds == (0.0, 0.0)


def test_a_leg_that_never_speaks_is_one_sided() -> None:
    caller, _ = conversation()
    meter = feed(QualityMeter(RATE, 2), [caller, np.zeros_like(caller)], RATE)
    assert meter.flags() == ["one_sided"]
    assert meter.active_seconds[1] == 0.0


def test_a_single_leg_recording_is_never_one_sided() -> None:
    caller, _ = conversation()
    assert feed(QualityMeter(RATE, 1), [caller], RATE).flags() == []


def test_a_call_of_mostly_silence_is_flagged() -> None:
    # 10 s; each side says something for 0.4 s: 8 % of the mixed frames are active.
    caller = np.concatenate([tone(1000, 0.4), seconds(9.6)])
    callee = np.concatenate([seconds(5.0), tone(400, 0.4), seconds(4.6)])
    meter = feed(QualityMeter(RATE, 2), [caller, callee], RATE)
    assert meter.flags() == ["mostly_silent"]
    assert meter.mixed_active_ratio == pytest.approx(0.08, abs=0.005)


def test_complete_silence_on_both_legs_is_mostly_silent_not_one_sided() -> None:
    meter = feed(QualityMeter(RATE, 2), [seconds(5), seconds(5)], RATE)
    assert meter.flags() == ["mostly_silent"]


def test_the_gate_sits_at_minus_45_dbfs_rms() -> None:
    # A sine's RMS is its peak / sqrt(2): -40 dBFS RMS passes the gate, -50 dBFS does not.
    def sine_at(dbfs: float) -> np.ndarray:
        return tone(1000, 1.0, amplitude=32768 * 10 ** (dbfs / 20) * np.sqrt(2))

    meter = QualityMeter(RATE, 2)
    meter.add([sine_at(-40), sine_at(-50)])
    assert meter.active_seconds == pytest.approx((1.0, 0.0))
    assert meter.flags() == ["one_sided"]


def test_a_final_partial_frame_counts() -> None:
    meter = QualityMeter(RATE, 1)
    meter.add([tone(1000, 0.01)])  # 10 ms: half a frame
    assert meter.flags() == []
    assert meter.active_seconds == pytest.approx((0.02,))


def test_chunks_must_match_the_legs() -> None:
    meter = QualityMeter(RATE, 2)
    with pytest.raises(ValueError, match="expected 2 legs"):
        meter.add([SILENCE])
    with pytest.raises(ValueError, match="same length"):
        meter.add([SILENCE, SILENCE[:10]])
