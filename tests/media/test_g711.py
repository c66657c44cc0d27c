from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from callrec.media import g711
from tests.media.synth import tone

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


@pytest.mark.parametrize(
    ("decode", "code", "value"),
    [
        (g711.ulaw_decode, 0xFF, 0),
        (g711.ulaw_decode, 0x7F, 0),
        (g711.ulaw_decode, 0x00, -32124),
        (g711.ulaw_decode, 0x80, 32124),
        (g711.alaw_decode, 0xD5, 8),
        (g711.alaw_decode, 0x55, -8),
        (g711.alaw_decode, 0xAA, 32256),
        (g711.alaw_decode, 0x2A, -32256),
    ],
)
def test_known_codewords_decode_to_the_standard_values(
    decode: Callable[[bytes], NDArray[np.int16]], code: int, value: int
) -> None:
    assert decode(bytes([code]))[0] == value


def test_zero_and_small_values_encode_to_the_standard_codewords() -> None:
    assert g711.ulaw_encode([0, -1, 32767, -32768]).tolist() == [0xFF, 0x7E, 0x80, 0x00]
    assert g711.alaw_encode([0, -1, 32767, -32768]).tolist() == [0xD5, 0x55, 0xAA, 0x2A]


def test_tables_are_odd_symmetric_and_ordered() -> None:
    # Codes 0x80..0xFF are the positive half, mirrored by 0x00..0x7F.
    u = g711.ULAW_TO_PCM.astype(np.int32)
    assert np.array_equal(u[0x80:], -u[:0x80])
    assert np.all(np.diff(u[0x80:]) < 0)  # μ-law inverts the bits: 0x80 is the loudest
    assert len(set(u.tolist())) == 255  # two zeros
    a = g711.ALAW_TO_PCM.astype(np.int32)
    assert np.array_equal(a[0x80:], -a[:0x80])
    # A-law inverts every other bit (XOR 0x55); undone, the codes count up with the value.
    assert np.all(np.diff(a[0x80:][np.argsort(np.arange(0x80, 0x100) ^ 0x55)]) > 0)
    assert len(set(a.tolist())) == 256  # no negative zero


def test_every_codeword_survives_decode_then_encode() -> None:
    a = g711.alaw_encode(g711.alaw_decode(ALL_CODES))
    assert np.array_equal(a, ALL_CODES)
    u = g711.ulaw_encode(g711.ulaw_decode(ALL_CODES))
    # μ-law has two zeros; "negative zero" 0x7F comes back as 0xFF.
    assert np.array_equal(np.flatnonzero(u != ALL_CODES), [0x7F])
    assert u[0x7F] == 0xFF


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_round_trip_error_stays_within_half_a_quantisation_step(law: str) -> None:
    encode, decode = getattr(g711, f"{law}_encode"), getattr(g711, f"{law}_decode")
    x = ALL_INT16[np.abs(ALL_INT16.astype(np.int32)) <= 32000].astype(np.int32)
    error = np.abs(decode(encode(x)).astype(np.int32) - x)
    # 4 mantissa bits per segment: the error is at most 1/16 of the value, or one small step.
    assert np.all(error <= np.maximum(np.abs(x) / 16, 16))


@pytest.mark.parametrize("payload_type", [g711.PT_PCMU, g711.PT_PCMA])
def test_a_tone_keeps_telephone_quality_snr(payload_type: int) -> None:
    x = tone(1000, 1.0, amplitude=10000)
    y = g711.decode(payload_type, g711.encode(payload_type, x))
    noise = (y.astype(np.float64) - x) ** 2
    snr_db = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(noise))
    assert snr_db > 35  # G.711's SQNR is about 38 dB over most of the range


@given(hnp.arrays(np.int16, st.integers(0, 400)), st.sampled_from([g711.PT_PCMU, g711.PT_PCMA]))
def test_encode_is_one_byte_per_sample_and_idempotent(
    pcm: NDArray[np.int16], payload_type: int
) -> None:
    codes = g711.encode(payload_type, pcm)
    assert len(codes) == len(pcm)
    once = g711.decode(payload_type, codes)
    assert g711.decode(payload_type, g711.encode(payload_type, once)).tolist() == once.tolist()


def test_decode_rejects_payload_types_other_than_g711() -> None:
    with pytest.raises(KeyError):
        g711.decode(9, b"\x00")
    with pytest.raises(KeyError):
        g711.encode(18, [0])
