from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.media import g711
from callrec.media.g711 import PT_PCMA, PT_PCMU, encode
from callrec.media.mixdown import render_capture
from tests.media.synth import (
    RATE,
    Packet,
    decoded,
    interleave,
    joined,
    level,
    packetize,
    tone,
    write_capture,
)

CALLER_HZ, CALLEE_HZ = 1000, 400


def two_tone_call(seconds: float = 3.0) -> tuple[list[Packet], np.ndarray, np.ndarray]:
    caller = tone(CALLER_HZ, seconds)
    callee = tone(CALLEE_HZ, seconds)
    packets = interleave(packetize(0, caller, PT_PCMU), packetize(1, callee, PT_PCMA))
    return packets, decoded(PT_PCMU, caller), decoded(PT_PCMA, callee)


def test_each_leg_carries_its_own_tone_and_mono_carries_both(tmp_path: Path) -> None:
    packets, caller, callee = two_tone_call()
    (leg0, leg1), mono = joined(render_capture(write_capture(tmp_path / "c.crec", packets)))
    assert np.array_equal(leg0, caller) and np.array_equal(leg1, callee)
    assert level(leg0, CALLER_HZ) > 7500 and level(leg0, CALLEE_HZ) < 50
    assert level(leg1, CALLEE_HZ) > 7500 and level(leg1, CALLER_HZ) < 50
    assert level(mono, CALLER_HZ) > 7500 and level(mono, CALLEE_HZ) > 7500
    assert np.array_equal(mono, caller.astype(np.int32) + callee)  # no clipping at this level


@pytest.mark.parametrize("window_s", [0.37, 1.0, 30.0])
def test_windows_split_records_exactly_at_their_boundaries(tmp_path: Path, window_s: float) -> None:
    # 0.37 s is 2960 samples: most window edges fall inside a 160-sample packet.
    packets, caller, callee = two_tone_call()
    chunks = list(render_capture(write_capture(tmp_path / "c.crec", packets), window_s=window_s))
    window = round(window_s * RATE)
    assert [len(c) for c in chunks[:-1]] == [window] * (len(chunks) - 1)
    (leg0, leg1), _ = joined(chunks)
    assert np.array_equal(leg0, caller) and np.array_equal(leg1, callee)


def test_gaps_are_silence_and_the_timeline_is_never_shortened(tmp_path: Path) -> None:
    # The caller talks 0-5 s but is on hold 2-4 s; the callee joins at 1.5 s and talks to 6 s.
    caller = tone(CALLER_HZ, 5.0)
    callee = tone(CALLEE_HZ, 4.5, start=12000)
    caller_packets = [p for p in packetize(0, caller) if not 2 * RATE <= p.offset < 4 * RATE]
    callee_packets = packetize(1, callee, PT_PCMA, offset=12000)
    path = write_capture(tmp_path / "c.crec", interleave(caller_packets, callee_packets))
    (leg0, leg1), mono = joined(render_capture(path, window_s=0.5))
    assert len(leg0) == len(leg1) == len(mono) == 6 * RATE
    expect0 = decoded(PT_PCMU, caller)
    assert np.array_equal(leg0[: 2 * RATE], expect0[: 2 * RATE])
    assert not leg0[2 * RATE : 4 * RATE].any()
    assert np.array_equal(leg0[4 * RATE : 5 * RATE], expect0[4 * RATE :])
    assert not leg0[5 * RATE :].any()
    assert not leg1[:12000].any()
    assert np.array_equal(leg1[12000:], decoded(PT_PCMA, callee))
    assert level(mono[2 * RATE : 4 * RATE], CALLER_HZ) < 50  # only the callee during the hold
    assert level(mono[2 * RATE : 4 * RATE], CALLEE_HZ) > 7500


def test_reordered_and_duplicated_packets_render_in_timeline_order(tmp_path: Path) -> None:
    packets, caller, callee = two_tone_call()
    jittered = list(packets)
    random.Random(3).shuffle(jittered)
    # Retransmitted copies arrive later with different bytes: the first arrival wins.
    for p in packets[::7]:
        jittered.append(Packet(p.leg, p.payload_type, p.offset, b"\x00" * len(p.payload)))
    path = write_capture(tmp_path / "c.crec", jittered)
    (leg0, leg1), _ = joined(render_capture(path, window_s=0.25))
    assert np.array_equal(leg0, caller) and np.array_equal(leg1, callee)


def test_overlapping_packets_keep_the_earlier_audio_and_fill_what_is_new(tmp_path: Path) -> None:
    pcm = tone(CALLER_HZ, 0.06)
    packets = [
        Packet(0, PT_PCMU, 0, encode(PT_PCMU, pcm[:160])),
        Packet(0, PT_PCMU, 80, encode(PT_PCMU, -pcm[80:240])),  # its first half overlaps
        Packet(0, PT_PCMU, 240, encode(PT_PCMU, pcm[240:480])),
    ]
    (leg,), _ = joined(render_capture(write_capture(tmp_path / "c.crec", packets, ["only"])))
    expected = decoded(PT_PCMU, pcm)
    assert len(leg) == 480
    assert np.array_equal(leg[:160], expected[:160])
    assert np.array_equal(leg[160:240], decoded(PT_PCMU, -pcm[160:240]))
    assert np.array_equal(leg[240:], expected[240:])


def test_a_leg_may_switch_codec_mid_call(tmp_path: Path) -> None:
    pcm = tone(CALLER_HZ, 2.0)
    packets = packetize(0, pcm[:7000], PT_PCMU) + packetize(0, pcm[7000:], PT_PCMA, offset=7000)
    (leg,), _ = joined(
        render_capture(write_capture(tmp_path / "c.crec", packets, ["only"]), window_s=1.0)
    )
    assert np.array_equal(leg[:7000], decoded(PT_PCMU, pcm[:7000]))
    assert np.array_equal(leg[7000:], decoded(PT_PCMA, pcm[7000:]))


def test_mono_saturates_instead_of_wrapping(tmp_path: Path) -> None:
    loud = np.full(800, 30000, np.int16)
    packets = interleave(packetize(0, loud), packetize(1, loud), packetize(1, -loud, offset=800))
    (leg0, leg1), mono = joined(render_capture(write_capture(tmp_path / "c.crec", packets)))
    assert int(leg0[0]) + int(leg1[0]) > 32767
    assert np.all(mono[:800] == 32767)
    assert np.array_equal(mono[800:], leg1[800:])


def test_a_capture_without_records_renders_nothing(tmp_path: Path) -> None:
    assert list(render_capture(write_capture(tmp_path / "c.crec", []))) == []


def test_a_leg_without_any_packet_is_silence_the_full_length(tmp_path: Path) -> None:
    pcm = tone(CALLER_HZ, 1.0)
    path = write_capture(tmp_path / "c.crec", packetize(1, pcm), ["caller", "callee", "agent"])
    (leg0, leg1, leg2), mono = joined(render_capture(path))
    assert len(leg0) == len(leg2) == RATE and not leg0.any() and not leg2.any()
    assert np.array_equal(mono, leg1)


def test_twenty_minute_call_is_exact_at_every_window_boundary(tmp_path: Path) -> None:
    minutes, window_s = 20, 30.0
    n = minutes * 60 * RATE
    caller, callee = tone(CALLER_HZ, n / RATE), tone(CALLEE_HZ, n / RATE, amplitude=6000)
    # 30 ms callee packets (240 samples): their edges and the window edges rarely coincide.
    packets = interleave(packetize(0, caller, PT_PCMU), packetize(1, callee, PT_PCMA, size=240))
    path = write_capture(tmp_path / "long.crec", packets)
    expect0, expect1 = decoded(PT_PCMU, caller), decoded(PT_PCMA, callee)
    window = round(window_s * RATE)
    chunks = 0
    for chunk in render_capture(path, window_s=window_s):
        a, b = chunk.start, chunk.start + len(chunk)
        assert len(chunk) == min(window, n - a)
        assert np.array_equal(chunk.legs[0], expect0[a:b])
        assert np.array_equal(chunk.legs[1], expect1[a:b])
        # The tones are where they belong right up to the window's edges.
        for edge in (chunk.legs[0][:400], chunk.legs[0][-400:]):
            assert level(edge, CALLER_HZ) > 7500 and level(edge, CALLEE_HZ) < 100
        for edge in (chunk.legs[1][:400], chunk.legs[1][-400:]):
            assert level(edge, CALLEE_HZ) > 5500 and level(edge, CALLER_HZ) < 100
        chunks += 1
    assert chunks == minutes * 2


def reference_render(packets: list[Packet], legs: int) -> list[np.ndarray]:
    """The rule, one sample at a time: per leg, in offset order (ties: first to arrive), each
    packet fills only the samples no earlier packet filled."""
    total = max((p.offset + len(p.payload) for p in packets), default=0)
    out = [np.zeros(total, np.int16) for _ in range(legs)]
    filled = [np.zeros(total, bool) for _ in range(legs)]
    for p in sorted(packets, key=lambda p: p.offset):  # sorted() is stable
        pcm = g711.decode(p.payload_type, p.payload)
        for i, sample in enumerate(pcm):
            if not filled[p.leg][p.offset + i]:
                out[p.leg][p.offset + i] = sample
                filled[p.leg][p.offset + i] = True
    return out


packet_strategy = st.builds(
    Packet,
    leg=st.integers(0, 1),
    payload_type=st.sampled_from([PT_PCMU, PT_PCMA]),
    offset=st.integers(0, 3000),
    payload=st.binary(min_size=1, max_size=400),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(packet_strategy, max_size=25), st.integers(1, 1000))
def test_any_arrival_pattern_renders_like_the_reference(packets: list[Packet], window: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_capture(Path(tmp) / "c.crec", packets)
        legs, mono = joined(render_capture(path, window_s=window / RATE))
    expected = reference_render(packets, 2)
    if not packets:
        assert legs == []
        return
    assert [leg.tolist() for leg in legs] == [leg.tolist() for leg in expected]
    assert np.array_equal(mono, np.clip(expected[0].astype(np.int32) + expected[1], -32768, 32767))
