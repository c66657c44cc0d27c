from __future__ import annotations

import io

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from callrec.media.mp3 import Mp3Encoder
from tests.media.synth import dominant, level, tone


def decode(data: bytes) -> tuple[int, NDArray[np.int16]]:
    """(rate, (channels, n)) of an MP3 byte string, decoded by FFmpeg."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        planes = [f.to_ndarray() for p in container.demux(stream) for f in p.decode()]
        samples = np.concatenate(planes, axis=1).astype(np.float64)  # FFmpeg's mp3float: planar
        return stream.codec_context.sample_rate, np.round(samples * 32767).astype(np.int16)


def encode(encoder: Mp3Encoder, pcm: NDArray[np.int16], piece: int = 4000) -> bytes:
    out = b"".join(encoder.encode(pcm[i : i + piece]) for i in range(0, len(pcm), piece))
    out += encoder.flush()
    info = encoder.info_frame()
    return info + out[len(info) :]


@pytest.mark.parametrize(("rate", "kbps"), [(8000, 32), (16000, 32), (16000, 24), (44100, 64)])
def test_duration_and_tone_survive_the_round_trip(rate: int, kbps: int) -> None:
    pcm = tone(1000, 2.5, rate)
    decoded_rate, out = decode(encode(Mp3Encoder(rate, bitrate_kbps=kbps), pcm))
    assert decoded_rate == rate
    assert out.shape[1] / rate == pytest.approx(2.5, abs=0.06)
    assert dominant(out[0], rate) == pytest.approx(1000, abs=5)
    assert level(out[0][rate // 10 : -rate // 10], 1000, rate) > 6000


def test_audio_is_not_shifted_by_the_encoder_delay() -> None:
    pcm = np.zeros(16000, np.int16)
    pcm[8000:8040] = 20000  # a click in the middle
    _, out = decode(encode(Mp3Encoder(8000), pcm))
    assert out.shape[1] == 16000
    assert abs(int(np.argmax(np.abs(out[0]))) - 8020) < 40  # within 5 ms


def test_two_channels_keep_their_own_tones() -> None:
    left, right = tone(1000, 2.0, 16000), tone(400, 2.0, 16000)
    interleaved = np.stack([left, right], axis=1).reshape(-1)
    _, out = decode(encode(Mp3Encoder(16000, channels=2, bitrate_kbps=64), interleaved))
    assert out.shape[0] == 2 and out.shape[1] / 16000 == pytest.approx(2.0, abs=0.06)
    l_pcm, r_pcm = (out * 32767).astype(np.int16) if out.dtype != np.int16 else out
    assert dominant(l_pcm, 16000) == pytest.approx(1000, abs=5)
    assert dominant(r_pcm, 16000) == pytest.approx(400, abs=5)
    assert level(l_pcm, 400, 16000) < 0.05 * level(l_pcm, 1000, 16000)


def test_the_stream_starts_with_a_lame_info_frame_of_the_final_size() -> None:
    encoder = Mp3Encoder(8000)
    stream = encoder.encode(tone(1000, 1.0)) + encoder.flush()
    info = encoder.info_frame()
    assert stream[:2] == info[:2] == b"\xff\xe3"  # MPEG-2.5 Layer III, no CRC
    assert b"Info" in info[:40] and b"LAME3.100" in info
    assert len(info) >= 192 and stream[len(info) : len(info) + 2] == b"\xff\xe3"


def test_an_unpatched_stream_still_plays_with_the_delay_removed() -> None:
    # A writer that cannot seek back keeps the placeholder; the audio must still decode.
    encoder = Mp3Encoder(16000)
    _, out = decode(encoder.encode(tone(1000, 2.0, 16000)) + encoder.flush())
    assert 2.0 <= out.shape[1] / 16000 < 2.2


def test_invalid_settings_and_input_are_refused() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        Mp3Encoder(12345)
    with pytest.raises(ValueError, match="bitrate"):
        Mp3Encoder(8000, bitrate_kbps=320)
    with pytest.raises(ValueError, match="channels"):
        Mp3Encoder(8000, channels=3)
    stereo = Mp3Encoder(8000, channels=2)
    with pytest.raises(ValueError, match="do not split"):
        stereo.encode(np.zeros(3, np.int16))
    with pytest.raises(ValueError, match="after flush"):
        stereo.info_frame()
    stereo.flush()
    with pytest.raises(ValueError, match="already flushed"):
        stereo.encode(np.zeros(2, np.int16))
