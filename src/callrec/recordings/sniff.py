"""What an upload is, from its first bytes (a Content-Type header is only a hint)."""

from __future__ import annotations

from enum import StrEnum


class SourceFormat(StrEnum):
    WAV = "wav"
    MP3 = "mp3"
    OGG = "ogg"
    CAPTURE = "crec"


ACCEPTED = "WAV (PCM, μ-law, A-law), MP3, Ogg/Opus, callrec capture (CREC)"


def sniff(head: bytes) -> SourceFormat | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return SourceFormat.WAV
    if head[:4] == b"OggS":
        return SourceFormat.OGG
    if head[:4] == b"CREC":
        return SourceFormat.CAPTURE
    if head[:3] == b"ID3":
        return SourceFormat.MP3
    # An MPEG audio frame sync: 11 set bits, then a layer field that is not "reserved".
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06):
        return SourceFormat.MP3
    return None
