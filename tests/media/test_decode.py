from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from callrec.media.decode import AudioDecodeError, decode_file, output_rate
from callrec.media.mixdown import decode_file as reexported
from callrec.media.mp3 import Mp3Encoder
from tests.media.synth import dominant, joined, level, rms, tone

LEFT_HZ, RIGHT_HZ = 1000, 400


def stereo(rate: int, seconds: float) -> NDArray[np.int16]:
    return np.stack([tone(LEFT_HZ, seconds, rate), tone(RIGHT_HZ, seconds, rate)])


def write_av(path: Path, fmt: str, codec: str, rate: int, pcm: NDArray[np.int16]) -> Path:
    """Encode (channels, n) int16 with PyAV, the way any other tool would have made the file."""
    layout = "mono" if len(pcm) == 1 else "stereo"
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        for i in range(0, pcm.shape[1], 960):
            packed = np.ascontiguousarray(pcm[:, i : i + 960].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(packed, format="s16", layout=layout)
            frame.sample_rate, frame.pts = rate, i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_mp3(path: Path, rate: int, pcm: NDArray[np.int16]) -> Path:
    encoder = Mp3Encoder(rate, channels=1, bitrate_kbps=32)
    data = encoder.encode(pcm) + encoder.flush()
    path.write_bytes(encoder.info_frame() + data[len(encoder.info_frame()) :])
    return path


def decode_all(
    path: Path, target_rate: int | None = None
) -> tuple[int, list[NDArray[np.int16]], NDArray[np.int16]]:
    rate, chunks = decode_file(path, target_rate)
    legs, mono = joined(chunks)
    return rate, legs, mono


def test_wav_pcm_mono_at_8k_comes_back_sample_exact(tmp_path: Path) -> None:
    pcm = tone(LEFT_HZ, 2.0)[None, :]
    rate, (leg,), mono = decode_all(write_av(tmp_path / "a.wav", "wav", "pcm_s16le", 8000, pcm))
    assert rate == 8000
    assert np.array_equal(leg, pcm[0]) and np.array_equal(mono, pcm[0])


def test_wav_mulaw_stereo_gives_caller_left_and_callee_right(tmp_path: Path) -> None:
    path = write_av(tmp_path / "u.wav", "wav", "pcm_mulaw", 8000, stereo(8000, 2.0))
    rate, (left, right), mono = decode_all(path)
    assert rate == 8000 and len(left) == len(right) == 16000
    assert dominant(left) == pytest.approx(LEFT_HZ, abs=5) and level(left, RIGHT_HZ) < 50
    assert dominant(right) == pytest.approx(RIGHT_HZ, abs=5) and level(right, LEFT_HZ) < 50
    assert level(mono, LEFT_HZ) > 7500 and level(mono, RIGHT_HZ) > 7500


def test_wav_at_44k_is_resampled_to_wideband(tmp_path: Path) -> None:
    path = write_av(tmp_path / "s.wav", "wav", "pcm_s16le", 44100, stereo(44100, 2.0))
    rate, (left, right), _ = decode_all(path)
    assert rate == 16000
    assert len(left) == pytest.approx(32000, abs=16)
    assert dominant(left, 16000) == pytest.approx(LEFT_HZ, abs=5)
    assert dominant(right, 16000) == pytest.approx(RIGHT_HZ, abs=5)


def test_mp3_from_lameenc_decodes_to_its_tone_and_length(tmp_path: Path) -> None:
    rate, (leg,), _ = decode_all(write_mp3(tmp_path / "m.mp3", 16000, tone(LEFT_HZ, 2.0, 16000)))
    assert rate == 16000
    assert len(leg) == pytest.approx(32000, abs=16000 * 0.06)
    assert dominant(leg, 16000) == pytest.approx(LEFT_HZ, abs=5)
    assert level(leg[1600:-1600], LEFT_HZ, 16000) > 6000


def test_ogg_opus_at_48k_stereo_keeps_both_channels_apart(tmp_path: Path) -> None:
    path = write_av(tmp_path / "o.ogg", "ogg", "libopus", 48000, stereo(48000, 2.0))
    rate, (left, right), _ = decode_all(path)
    assert rate == 16000
    assert len(left) == pytest.approx(32000, abs=16000 * 0.06)
    assert dominant(left, 16000) == pytest.approx(LEFT_HZ, abs=5)
    assert dominant(right, 16000) == pytest.approx(RIGHT_HZ, abs=5)
    assert level(left, RIGHT_HZ, 16000) < 0.05 * level(left, LEFT_HZ, 16000)


def test_target_rate_overrides_the_choice(tmp_path: Path) -> None:
    path = write_av(tmp_path / "o.ogg", "ogg", "libopus", 48000, stereo(48000, 1.0))
    rate, (left, _), _ = decode_all(path, target_rate=8000)
    assert rate == 8000 and len(left) == pytest.approx(8000, abs=8000 * 0.06)
    assert dominant(left) == pytest.approx(LEFT_HZ, abs=5)


@pytest.mark.parametrize(
    ("source", "chosen"),
    [(8000, 8000), (16000, 16000), (11025, 8000), (22050, 16000), (48000, 16000)],
)
def test_output_rate_keeps_telephony_rates_and_maps_the_rest(source: int, chosen: int) -> None:
    assert output_rate(source) == chosen


def test_chunks_are_contiguous_and_cut_at_chunk_s(tmp_path: Path) -> None:
    path = write_av(tmp_path / "a.wav", "wav", "pcm_s16le", 8000, stereo(8000, 1.0))
    _, chunks = decode_file(path, chunk_s=0.3)
    parts = list(chunks)
    assert [len(c) for c in parts] == [2400, 2400, 2400, 800]
    (left, right), _ = joined(parts)
    assert np.array_equal(left, tone(LEFT_HZ, 1.0)) and np.array_equal(right, tone(RIGHT_HZ, 1.0))
    assert reexported is decode_file


@pytest.mark.parametrize("name", ["a.wav", "m.mp3", "o.ogg"])
def test_a_truncated_upload_decodes_up_to_the_cut(tmp_path: Path, name: str) -> None:
    # No container can tell a cut-off file from a shorter one; what matters is that what is there
    # decodes, with the audio intact.
    pcm = tone(LEFT_HZ, 2.0, 16000)
    whole = {
        "a.wav": lambda p: write_av(p, "wav", "pcm_s16le", 16000, pcm[None, :]),
        "m.mp3": lambda p: write_mp3(p, 16000, pcm),
        "o.ogg": lambda p: write_av(p, "ogg", "libopus", 16000, pcm[None, :]),
    }[name](tmp_path / name)
    data = whole.read_bytes()
    cut = tmp_path / f"cut-{name}"
    cut.write_bytes(data[: len(data) // 2])
    rate, (leg,), _ = decode_all(cut)
    assert 0.8 < len(leg) / rate < 1.2
    assert dominant(leg, rate) == pytest.approx(LEFT_HZ, abs=5)
    assert rms(leg[-800:]) > 4000  # still the tone right up to the end, not garbage or silence


@pytest.mark.parametrize("keep", [0, 30])
def test_a_file_cut_inside_its_header_cannot_be_opened(tmp_path: Path, keep: int) -> None:
    whole = write_av(tmp_path / "a.wav", "wav", "pcm_s16le", 8000, tone(LEFT_HZ, 1.0)[None, :])
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:keep])
    with pytest.raises(AudioDecodeError, match="cannot open"):
        decode_file(cut)


def test_random_bytes_are_rejected_when_opened(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 6000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioDecodeError, match="cannot open"):
        decode_file(junk)


def test_a_missing_file_is_a_decode_error(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="cannot open"):
        decode_file(tmp_path / "nothing.wav")


def corrupt_middle(path: Path, share: float = 0.2) -> Path:
    data = bytearray(path.read_bytes())
    start, n = len(data) // 3, int(len(data) * share)
    data[start : start + n] = np.random.default_rng(2).integers(0, 256, n, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def test_an_mp3_with_a_corrupted_middle_fails_on_its_bad_packets(tmp_path: Path) -> None:
    path = corrupt_middle(write_mp3(tmp_path / "m.mp3", 16000, tone(LEFT_HZ, 2.0, 16000)))
    _, chunks = decode_file(path)
    with pytest.raises(AudioDecodeError, match="packets failed to decode"):
        list(chunks)


def test_an_ogg_that_loses_sync_fails_on_its_stated_duration(tmp_path: Path) -> None:
    path = write_av(tmp_path / "o.ogg", "ogg", "libopus", 48000, stereo(48000, 2.0))
    _, chunks = decode_file(corrupt_middle(path))
    with pytest.raises(AudioDecodeError, match=r"decoded 0\.\d+ s of a stated 2\.\d+ s"):
        list(chunks)


def test_a_file_without_audio_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "video.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=5)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(AudioDecodeError, match="no audio stream"):
        decode_file(path)
