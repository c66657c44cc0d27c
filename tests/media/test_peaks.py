from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.media.peaks import PeaksBuilder
from tests.media.synth import RATE, tone

SPP = 80  # 10 ms pixels at 8 kHz


def burst_call() -> np.ndarray:
    """3 s of silence, a 1 s tone at amplitude 16000, 3 s of silence."""
    silence = np.zeros(3 * RATE, np.int16)
    return np.concatenate([silence, tone(1000, 1.0, amplitude=16000), silence])


def test_output_is_audiowaveform_json_v2() -> None:
    builder = PeaksBuilder(RATE, SPP)
    builder.add(burst_call())
    peaks = builder.to_json()
    assert {k: v for k, v in peaks.items() if k != "data"} == {
        "version": 2,
        "channels": 1,
        "sample_rate": RATE,
        "samples_per_pixel": SPP,
        "bits": 8,
        "length": 700,
    }
    assert isinstance(peaks["data"], list) and len(peaks["data"]) == 1400
    assert all(type(v) is int and -128 <= v <= 127 for v in peaks["data"])


def test_a_tone_burst_shows_up_where_it_is() -> None:
    builder = PeaksBuilder(RATE, SPP)
    builder.add(burst_call())
    data = builder.to_json()["data"]
    assert isinstance(data, list)
    mins, maxs = np.array(data[0::2]), np.array(data[1::2])
    loud = np.flatnonzero(maxs > 10)
    assert loud[0] == 300 and loud[-1] == 399  # pixels 300-399 are seconds 3-4
    assert np.all(maxs[300:400] >= 60) and np.all(mins[300:400] <= -61)  # 16000 >> 8 = 62
    assert not np.any(maxs[:300]) and not np.any(mins[400:])


def test_full_scale_maps_onto_the_whole_8_bit_range() -> None:
    builder = PeaksBuilder(RATE, 4)
    builder.add(np.array([-32768, 32767, 0, 0, -256, 255, 0, 0], np.int16))
    assert builder.to_json()["data"] == [-128, 127, -1, 0]


def test_a_partial_last_pixel_counts() -> None:
    builder = PeaksBuilder(RATE, 100)
    builder.add(np.full(250, 1000, np.int16))
    peaks = builder.to_json()
    assert peaks["length"] == 3 and builder.length == 3
    assert peaks["data"] == [3, 3] * 3


def test_nothing_in_gives_an_empty_waveform() -> None:
    peaks = PeaksBuilder(RATE, SPP).to_json()
    assert peaks["length"] == 0 and peaks["data"] == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3000), max_size=12), st.integers(1, 500))
def test_chunking_does_not_change_the_result(cuts: list[int], spp: int) -> None:
    signal = np.random.default_rng(5).integers(-32768, 32767, 6000, dtype=np.int16)
    whole = PeaksBuilder(RATE, spp)
    whole.add(signal)
    pieces = PeaksBuilder(RATE, spp)
    for part in np.split(signal, sorted(cuts)):
        pieces.add(part)
    assert pieces.to_json() == whole.to_json()
