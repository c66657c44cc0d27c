"""G.722 legs in a CREC capture, encoded by FFmpeg's G.722 encoder and mixed down: the tone is
there at its frequency, the recording is as long as what was sent, lost packets are silence of
their own length at their own place (nothing after them moves), and the result does not depend
on arrival order or on where the windows fall."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from callrec.media import g722
from callrec.media.capture import CaptureFormatError, read_index
from callrec.media.g711 import PT_PCMU
from callrec.media.g722 import PT_G722, G722Decoder, WidebandLeg, decimate_taps
from callrec.media.mixdown import render_at_native_rate, render_capture
from tests.media.synth import (
    RATE,
    Packet,
    decoded,
    dominant,
    interleave,
    joined,
    level,
    packetize,
    rms,
    tone,
    write_capture,
)

WIDE = 16000
BYTES_PER_PACKET = 160  # 20 ms: 320 samples at 16 kHz, 160 ticks of the 8 kHz timeline


def g722_packets(
    leg: int, pcm16: NDArray[np.int16], offset: int = 0, size: int = BYTES_PER_PACKET
) -> list[Packet]:
    """A 16 kHz signal encoded as one stream (as a phone does), cut into packets on the timeline."""
    codes = g722.encode(pcm16)
    return [
        Packet(leg, PT_G722, offset + i, codes[i : i + size]) for i in range(0, len(codes), size)
    ]


def reference(pcm16: NDArray[np.int16]) -> NDArray[np.int16]:
    """The whole leg decoded in one go and brought to 8 kHz in one convolution: what windowed
    rendering must reproduce."""
    wide = G722Decoder().decode(g722.encode(pcm16)).astype(np.float32)
    taps = decimate_taps()
    half = len(taps) // 2
    padded = np.concatenate([np.zeros(half, np.float32), wide, np.zeros(half, np.float32)])
    out = np.convolve(padded, taps, mode="valid")[::2]
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16)


def render_legs(path: Path, window_s: float = 30.0) -> list[NDArray[np.int16]]:
    legs, _ = joined(render_capture(path, window_s=window_s))
    return legs


def test_a_g722_tone_renders_at_its_frequency_level_and_length(tmp_path: Path) -> None:
    source = tone(1000, 3.0, rate=WIDE)
    path = write_capture(tmp_path / "c.crec", g722_packets(0, source), ["only"])
    (leg,) = render_legs(path)
    assert len(leg) == 3 * RATE  # 150 packets of 20 ms, on the 8 kHz timeline
    assert dominant(leg[800:]) == pytest.approx(1000, abs=5)
    assert level(leg[800:], 1000) == pytest.approx(8000, rel=0.05)
    assert level(leg[800:], 400) < 50


def test_wideband_audio_above_the_narrow_band_does_not_fold_back(tmp_path: Path) -> None:
    # 5 kHz exists at 16 kHz but not at 8 kHz; dropping samples without filtering would put it
    # at 3 kHz, loud. The decimation filter takes it out instead.
    source = tone(1000, 2.0, rate=WIDE) + tone(5000, 2.0, rate=WIDE)
    (leg,) = render_legs(write_capture(tmp_path / "c.crec", g722_packets(0, source), ["only"]))
    assert level(leg[800:], 1000) > 7000
    assert level(leg[800:], 3000) < 8000 / 1000  # at least 60 dB down


@pytest.mark.parametrize("window_s", [0.0371, 0.37, 1.0, 30.0])
def test_windows_do_not_change_the_result(tmp_path: Path, window_s: float) -> None:
    # 0.0371 s is 297 ticks: a window ends inside almost every packet, and is shorter than two.
    source = tone(700, 2.0, rate=WIDE, amplitude=12000)
    path = write_capture(tmp_path / "c.crec", g722_packets(0, source), ["only"])
    (leg,) = render_legs(path, window_s)
    expected = reference(source)
    assert len(leg) == len(expected) == 2 * RATE
    assert np.abs(leg.astype(np.int32) - expected).max() <= 1  # float rounding, nothing more


def test_arrival_order_and_duplicates_do_not_matter(tmp_path: Path) -> None:
    source = tone(700, 2.0, rate=WIDE)
    packets = g722_packets(0, source)
    (in_order,) = render_legs(write_capture(tmp_path / "a.crec", packets, ["only"]))
    jittered = list(packets)
    rng = random.Random(7)
    for i in range(0, len(jittered) - 5, 5):  # reordered within 100 ms
        chunk = jittered[i : i + 5]
        rng.shuffle(chunk)
        jittered[i : i + 5] = chunk
    jittered += packets[30:34]  # late duplicates
    (shuffled,) = render_legs(write_capture(tmp_path / "b.crec", jittered, ["only"]), 0.5)
    assert np.abs(shuffled.astype(np.int32) - in_order).max() <= 1


def test_lost_packets_leave_silence_of_their_length_and_shift_nothing(tmp_path: Path) -> None:
    source = tone(1000, 3.0, rate=WIDE)
    packets = g722_packets(0, source)
    lost = set(range(50, 60))  # 1.0 s to 1.2 s
    kept = [p for i, p in enumerate(packets) if i not in lost]
    (full,) = render_legs(write_capture(tmp_path / "full.crec", packets, ["only"]))
    (leg,) = render_legs(write_capture(tmp_path / "lossy.crec", kept, ["only"]), 0.5)
    assert len(leg) == len(full) == 3 * RATE
    assert np.array_equal(leg[: RATE - 40], full[: RATE - 40])  # before the loss: untouched
    ms = RATE // 1000
    gap = leg[RATE + 3 * ms : RATE + 197 * ms]
    assert rms(gap) == 0.0  # silence, but for the filter's 2.5 ms ring at the edges
    assert rms(leg[RATE : RATE + 200 * ms]) < 100
    # After the loss the decoder re-converges on the same waveform at the same place: a shift
    # of even one sample would leave a 1 kHz difference of about 6,000 at this level.
    after = slice(int(1.3 * RATE), 3 * RATE - 40)
    assert rms(leg[after].astype(np.int32) - full[after]) < 0.02 * rms(full[after])
    assert level(leg[after], 1000) == pytest.approx(8000, rel=0.05)


def test_a_narrowband_and_a_wideband_leg_mix_into_one_timeline(tmp_path: Path) -> None:
    caller, callee = tone(400, 2.0), tone(1000, 2.0, rate=WIDE)
    packets = interleave(packetize(0, caller, PT_PCMU), g722_packets(1, callee))
    (leg0, leg1), mono = joined(render_capture(write_capture(tmp_path / "c.crec", packets)))
    assert len(leg0) == len(leg1) == len(mono) == 2 * RATE
    assert np.array_equal(leg0, decoded(PT_PCMU, caller))
    assert level(leg1[800:], 1000) > 7500 and level(leg1[800:], 400) < 50
    assert level(mono[800:], 400) > 7500 and level(mono[800:], 1000) > 7500


def test_a_leg_may_switch_from_g711_to_g722_mid_call(tmp_path: Path) -> None:
    narrow, wide = tone(400, 1.0), tone(1000, 1.0, rate=WIDE)
    packets = packetize(0, narrow, PT_PCMU) + g722_packets(0, wide, offset=RATE)
    (leg,) = render_legs(write_capture(tmp_path / "c.crec", packets, ["only"]), 0.3)
    assert len(leg) == 2 * RATE
    assert np.array_equal(leg[: RATE - 40], decoded(PT_PCMU, narrow)[: RATE - 40])
    assert dominant(leg[RATE + 800 :]) == pytest.approx(1000, abs=5)
    assert level(leg[RATE + 800 :], 400) < 50


def test_a_call_that_is_g722_throughout_can_stay_wideband(tmp_path: Path) -> None:
    # 5 kHz is beyond what 8 kHz audio can carry: kept at 16 kHz, exactly as decoded.
    caller = tone(5000, 2.0, rate=WIDE)
    callee = tone(1000, 1.5, rate=WIDE, start=8000)
    packets = interleave(g722_packets(0, caller), g722_packets(1, callee, offset=4000))
    path = write_capture(tmp_path / "c.crec", packets, ["caller", "callee", "silent"])
    rate, chunks = render_at_native_rate(path, window_s=0.37)
    (leg0, leg1, leg2), mono = joined(chunks)
    assert rate == WIDE
    assert len(leg0) == len(leg1) == len(leg2) == len(mono) == 2 * WIDE
    assert np.array_equal(leg0, G722Decoder().decode(g722.encode(caller)))
    assert not leg1[: WIDE // 2].any()  # the callee starts 0.5 s in, at its place
    assert np.array_equal(leg1[WIDE // 2 :], G722Decoder().decode(g722.encode(callee)))
    assert not leg2.any()
    assert level(leg0[800:], 5000, WIDE) > 7500
    assert level(mono[WIDE:], 1000, WIDE) > 7500 and level(mono[WIDE:], 5000, WIDE) > 7500


def test_wideband_loss_is_silence_of_its_length_at_its_place(tmp_path: Path) -> None:
    source = tone(1000, 2.0, rate=WIDE)
    packets = g722_packets(0, source)
    kept = [p for i, p in enumerate(packets) if not 25 <= i < 30]  # 0.5 s to 0.6 s
    rate, chunks = render_at_native_rate(write_capture(tmp_path / "c.crec", kept, ["only"]), 0.3)
    (leg,), _ = joined(chunks)
    full = G722Decoder().decode(g722.encode(source))
    assert rate == WIDE and len(leg) == len(full) == 2 * WIDE
    assert np.array_equal(leg[: WIDE // 2], full[: WIDE // 2])
    assert not leg[WIDE // 2 : WIDE * 6 // 10].any()
    after = slice(WIDE * 7 // 10, 2 * WIDE)
    assert rms(leg[after].astype(np.int32) - full[after]) < 0.02 * rms(full[after])


def test_a_call_with_any_g711_stays_narrowband(tmp_path: Path) -> None:
    packets = interleave(
        packetize(0, tone(400, 1.0), PT_PCMU), g722_packets(1, tone(1000, 1.0, rate=WIDE))
    )
    path = write_capture(tmp_path / "c.crec", packets)
    rate, chunks = render_at_native_rate(path)
    legs, _ = joined(chunks)
    assert rate == RATE
    expected, _ = joined(render_capture(path))
    assert all(np.array_equal(a, b) for a, b in zip(legs, expected, strict=True))


def test_g722_records_round_trip_through_the_index(tmp_path: Path) -> None:
    packets = g722_packets(1, tone(1000, 0.1, rate=WIDE), offset=4000)
    index = read_index(write_capture(tmp_path / "c.crec", packets))
    assert index.payload_type.tolist() == [PT_G722] * 5
    assert index.offset.tolist() == [4000 + 160 * i for i in range(5)]
    assert index.length.tolist() == [160] * 5


def test_g722_needs_the_8khz_timeline_it_is_timed_on(tmp_path: Path) -> None:
    packets = g722_packets(0, tone(1000, 0.1, rate=WIDE))
    path = write_capture(tmp_path / "c.crec", packets, ["only"], rate=16000)
    with pytest.raises(CaptureFormatError, match="8000 Hz timeline"):
        render_capture(path)


def test_the_wideband_leg_refuses_audio_it_already_handed_out() -> None:
    for wide in (False, True):
        leg = WidebandLeg()
        leg.add(np.array([0]), np.array([160]), np.zeros(320, np.int16))
        assert len(leg.take_wide(0, 100) if wide else leg.take(0, 100)) == 100 * (1 + wide)
        with pytest.raises(ValueError, match="already handed out"):
            leg.add(np.array([0]), np.array([10]), np.zeros(20, np.int16))
        with pytest.raises(ValueError, match="already handed out"):
            leg.take_wide(0, 10) if wide else leg.take(0, 10)


def test_encoding_takes_sample_pairs() -> None:
    with pytest.raises(ValueError, match="odd count"):
        g722.encode(np.zeros(3, np.int16))
    assert g722.encode(np.zeros(0, np.int16)) == b""
    assert len(g722.encode(np.zeros(320, np.int16))) == 160
