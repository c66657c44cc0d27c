"""Consent fixtures made for real: MP3 files encoded with lameenc (a tone, with or without an ID3
tag), the bad kinds an upload must refuse, and announcements stored through the service.

The recording proxy's tests use ``make_tone_announcement`` to give a call a tone announcement
whose energy they can check at the caller.
"""

from __future__ import annotations

import io
import wave

import av
import lameenc  # type: ignore[import-not-found]
import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from callrec.consent.schemas import TtsAnnouncementCreate
from callrec.consent.service import AnnouncementService
from callrec.kit.settings import Settings
from callrec.media.mp3 import Mp3Encoder
from callrec.models import Announcement, Org
from callrec.storage import BlobStore


def tone(
    seconds: float = 2.0, hz: float = 1000.0, rate: int = 16000, level: float = 0.3
) -> NDArray[np.int16]:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * hz * t) * 32767).astype(np.int16)


def lame_mp3(pcm: NDArray[np.int16], rate: int = 16000, kbps: int = 32) -> bytes:
    """Plain lameenc output: frames only, no Xing/Info header."""
    encoder = lameenc.Encoder()
    encoder.set_in_sample_rate(rate)
    encoder.set_out_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_bit_rate(kbps)
    encoder.set_quality(5)
    return bytes(encoder.encode(pcm.tobytes())) + bytes(encoder.flush())


def tone_mp3(
    seconds: float = 2.0, hz: float = 1000.0, rate: int = 16000, id3: bool = False
) -> bytes:
    data = lame_mp3(tone(seconds, hz, rate), rate)
    return id3_tag("Tone") + data if id3 else data


def info_mp3(pcm: NDArray[np.int16], rate: int = 16000) -> bytes:
    """An MP3 with a LAME Info header declaring its frame count (the project's encoder)."""
    encoder = Mp3Encoder(rate, 1, 32, 5)
    body = encoder.encode(pcm) + encoder.flush()
    info = encoder.info_frame()
    return info + body[len(info) :]


def id3_tag(title: str) -> bytes:
    """An ID3v2.3 tag with one title frame (and padding, as taggers leave)."""
    text = b"\x00" + title.encode("latin-1")
    frame = b"TIT2" + len(text).to_bytes(4, "big") + b"\x00\x00" + text
    body = frame + b"\x00" * 64
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + body


def wav_file(pcm: NDArray[np.int16], rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def layer2_file(seconds: float = 2.0) -> bytes:
    """MPEG-1 Layer II, encoded with FFmpeg's mp2 encoder through PyAV."""
    rate = 48000
    out = io.BytesIO()
    with av.open(out, "w", format="mp2") as container:
        stream = container.add_stream("mp2", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            tone(seconds, rate=rate).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def garbage(size: int = 20_000, seed: int = 7) -> bytes:
    data = bytearray(np.random.default_rng(seed).bytes(size))
    data[0] = 0x42  # never a frame sync by chance
    return bytes(data)


def make_tone_announcement(
    session: Session,
    blobs: BlobStore,
    settings: Settings,
    org: Org,
    name: str = "Tone",
    *,
    seconds: float = 2.0,
    hz: float = 1000.0,
) -> Announcement:
    """A stored MP3 announcement of a pure tone (flushed, not committed)."""
    data = tone_mp3(seconds, hz)
    return AnnouncementService(session, blobs, settings).create_mp3(
        org.id, name, data, filename="tone.mp3"
    )


def make_tts_announcement(
    session: Session,
    blobs: BlobStore,
    settings: Settings,
    org: Org,
    name: str = "Welcome",
    text: str = "This call may be recorded for quality and training purposes.",
) -> Announcement:
    return AnnouncementService(session, blobs, settings).create_tts(
        org.id, TtsAnnouncementCreate(name=name, text=text)
    )
