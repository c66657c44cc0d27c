"""The SDP a plain phone offers and answers (RFC 3264): one ``m=audio`` with G.711 and
telephone-event, and what the other side's description tells the RTP leg."""

from __future__ import annotations

import secrets

from callrec.media import g711
from callrec.telephony.sdp import SdpError, SessionDescription
from callrec.telephony.ua.media import Address, Codec

_NAMES = {g711.PT_PCMU: "PCMU", g711.PT_PCMA: "PCMA"}
DTMF_PT = 101


def describe(host: str, port: int, audio: tuple[int, ...], dtmf: int | None) -> bytes:
    """An SDP body: ``audio`` payload types in preference order, then telephone-event."""
    formats = [*audio, *([dtmf] if dtmf is not None else [])]
    session = secrets.randbelow(1 << 31)
    m_line = f"m=audio {port} RTP/AVP {' '.join(map(str, formats))}"
    lines = ["v=0", f"o=callrec-ua {session} {session} IN IP4 {host}", "s=call",
             f"c=IN IP4 {host}", "t=0 0", m_line]  # fmt: skip
    lines += [f"a=rtpmap:{pt} {_NAMES[pt]}/8000" for pt in audio]
    if dtmf is not None:
        lines += [f"a=rtpmap:{dtmf} telephone-event/8000", f"a=fmtp:{dtmf} 0-16"]
    lines += ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer(host: str, port: int, audio: tuple[int, ...] = (g711.PT_PCMU,)) -> bytes:
    return describe(host, port, audio, DTMF_PT)


def remote_media(body: bytes) -> tuple[Address, Codec]:
    """Where to send and with what, from the peer's answer (or offer): its first m=audio's
    first G.711 format, and its telephone-event type if it has one. ``SdpError`` otherwise."""
    sdp = SessionDescription.parse(body)
    audio = next((m for m in sdp.media if m.media == "audio" and m.port), None)
    if audio is None:
        raise SdpError("no active m=audio in the description")
    connection = sdp.connection_of(audio)
    if connection is None:
        raise SdpError("m=audio without a connection address")
    maps = audio.rtpmap
    # G.711 by its static payload types: that is how every phone and SBC offers it.
    codecs = [int(pt) for pt in audio.formats if pt in ("0", "8")]
    if not codecs:
        raise SdpError(f"no G.711 format (0 or 8) in m=audio {audio.formats}")
    events = [
        int(pt)
        for pt in audio.formats
        if pt in maps and maps[pt].encoding.lower() == "telephone-event"
    ]
    return (connection.host, audio.port), Codec(codecs[0], events[0] if events else None)


def answer(offered: bytes, host: str, port: int) -> tuple[bytes, Address, Codec]:
    """Answer an offer with its first G.711 codec and its telephone-event type."""
    remote, codec = remote_media(offered)
    body = describe(host, port, (codec.payload_type,), codec.dtmf_payload_type)
    return body, remote, codec
