"""media.announce's MP3 checks on real files, beyond the API's bad-file matrix: MPEG versions
and rates, ID3 variants, other formats passed off as MP3, the size boundary."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from callrec.media.announce import Mp3Rejected, _parse_frame, decode_mp3, prepare
from tests.consent.factories import id3_tag, info_mp3, lame_mp3, tone, wav_file


@pytest.mark.parametrize(
    ("rate", "kbps"),
    [(8000, 16), (11025, 32), (16000, 32), (22050, 48), (32000, 64), (44100, 128), (48000, 64)],
)
def test_every_mpeg_version_and_rate_is_accepted(rate: int, kbps: int) -> None:
    samples, decoded_rate = decode_mp3(lame_mp3(tone(1.5, 440.0, rate), rate, kbps))

    assert decoded_rate == rate
    assert abs(len(samples) / rate - 1.5) < 0.3  # no Info header: LAME's delay and padding stay
    prepared = prepare(samples, rate)
    assert abs(prepared.duration_ms - len(samples) / rate * 1000) < 2


def test_stereo_is_mixed_to_mono() -> None:
    rate = 44100
    left, right = tone(1.0, 440.0, rate), tone(1.0, 660.0, rate)
    pcm = np.column_stack([left, right]).reshape(-1)
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)

    samples, _ = decode_mp3(out.getvalue())

    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    peaks = sorted(freqs[np.argsort(spectrum)[-2:]])
    assert abs(peaks[0] - 440) < 3 and abs(peaks[1] - 660) < 3


def test_an_id3v24_tag_with_a_footer_and_an_id3v1_tail_are_skipped() -> None:
    data = lame_mp3(tone(1.0))
    head = bytearray(id3_tag("Hello"))
    head[3], head[5] = 4, 0x10  # v2.4 with the footer flag: 10 more bytes after the tag
    tagged = bytes(head) + b"3DI\x04\x00\x10" + head[6:10] + data + b"TAG" + b"\x00" * 125

    samples, _ = decode_mp3(tagged)

    assert len(samples) == len(decode_mp3(data)[0])


def test_the_size_limit_is_inclusive() -> None:
    data = info_mp3(tone(1.0))

    decode_mp3(data, max_bytes=len(data))
    with pytest.raises(Mp3Rejected) as refused:
        decode_mp3(data, max_bytes=len(data) - 1)
    assert refused.value.code == "too_large"


def _container(fmt: str, codec: str) -> bytes:
    rate = 16000 if codec != "aac" else 44100
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        pcm = tone(1.0, 440.0, rate).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        if codec in ("aac", "libopus", "flac"):
            frame = _resample(frame, stream.codec_context.format.name)
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()


def _resample(frame: av.AudioFrame, fmt: str) -> av.AudioFrame:
    out = av.AudioResampler(format=fmt, layout="mono", rate=frame.sample_rate).resample(frame)
    return out[0]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(lambda: wav_file(tone()), "WAV", id="wav"),
        pytest.param(lambda: _container("adts", "aac"), "AAC", id="aac_adts"),
        pytest.param(lambda: _container("ogg", "libopus"), "Ogg", id="ogg_opus"),
        pytest.param(lambda: _container("flac", "flac"), "FLAC", id="flac"),
        pytest.param(lambda: id3_tag("x") + wav_file(tone()), "WAV", id="wav_behind_id3"),
    ],
)
def test_other_formats_named_mp3_are_refused_by_name(make: object, says: str) -> None:
    with pytest.raises(Mp3Rejected) as refused:
        decode_mp3(make())  # type: ignore[operator]

    assert refused.value.code == "wrong_format"
    assert says in refused.value.reason


def test_a_file_cut_on_a_frame_boundary_is_caught_by_its_info_header() -> None:
    """Every remaining frame is whole, so only the declared length betrays the cut."""
    data = info_mp3(tone(4.0))
    first = decode_mp3(data)[0]
    ends, pos = [], 0
    while pos + 4 <= len(data):
        header = _parse_frame(data[pos : pos + 4])
        assert header is not None
        pos += header.size
        ends.append(pos)
    cut = data[: ends[len(ends) // 2]]

    with pytest.raises(Mp3Rejected) as refused:
        decode_mp3(cut)

    assert refused.value.code == "truncated"
    assert "declares 4.00 s" in refused.value.reason
    assert len(first) == 4 * 16000
