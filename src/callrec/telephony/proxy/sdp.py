"""SDP for a B2BUA that anchors media: read a party's audio stream (where to send, which
codecs, which direction), and write ours in its place (our address and port, the agreed
codec). PCMU and PCMA with telephone-event/8000; the payload type numbers stay the peer's.

Only the first ``m=audio`` line is used; other m-lines (video…) are declined in our SDP with
port 0, so the far party never learns an address behind the proxy.
"""

from __future__ import annotations

from dataclasses import dataclass

from callrec.telephony.proxy.media import Codec
from callrec.telephony.sdp import (
    Attribute,
    Connection,
    Direction,
    MediaDescription,
    Origin,
    SdpError,
    SessionDescription,
)
from callrec.telephony.transport import Address

G711 = {"pcmu": 0, "pcma": 8}
_HOLD = frozenset({"0.0.0.0", "::"})
_NAMES = {0: "PCMU", 8: "PCMA"}


@dataclass(frozen=True)
class AudioOffer:
    """A party's audio stream as its SDP (offer or answer) describes it."""

    remote: Address | None  # None: held with 0.0.0.0 (or port 0)
    audio_pts: tuple[int, ...]  # G.711 payload types it takes, in its order of preference
    event_pt: int | None
    direction: Direction
    other_media: tuple[str, ...]  # the m-lines we decline, to answer them with port 0
    audio_index: int


def read_audio(body: bytes) -> AudioOffer:
    """The first usable audio stream of an SDP body; SdpError when there is none."""
    sdp = SessionDescription.parse(body)
    for index, m in enumerate(sdp.media):
        if m.media != "audio" or m.proto != "RTP/AVP" or not m.port:
            continue
        maps = m.rtpmap
        # The static types only: the payload type numbers we send are the peer's own.
        audio = tuple(
            int(pt) for pt in m.formats
            if pt in ("0", "8") and G711.get(maps[pt].encoding.lower()) == int(pt)
        )  # fmt: skip
        if not audio:
            continue
        events = [int(pt) for pt in m.formats if pt in maps
                  and maps[pt].encoding.lower() == "telephone-event"
                  and maps[pt].clock_rate == 8000]  # fmt: skip
        connection = sdp.connection_of(m)
        remote = None
        if connection is not None and connection.host not in _HOLD:
            remote = (connection.host, m.port)
        others = tuple(x.media for i, x in enumerate(sdp.media) if i != index)
        return AudioOffer(remote, audio, events[0] if events else None, sdp.direction_of(m),
                          others, index)  # fmt: skip
    raise SdpError("no RTP/AVP audio stream with PCMU or PCMA (8000 Hz) in the SDP")


def choose(offer: AudioOffer, allowed: tuple[int, ...] | None = None) -> Codec:
    """The codec we answer: the offer's first G.711 type (that ``allowed`` has, if given)."""
    for pt in offer.audio_pts:
        if allowed is None or pt in allowed:
            return Codec(pt, offer.event_pt)
    raise SdpError(f"none of the offered codecs {offer.audio_pts} is in {allowed}")


MIRROR: dict[Direction, Direction] = {
    "sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"
}  # fmt: skip


@dataclass
class LocalSdp:
    """Our SDP towards one party: one session id, a version that grows with each change."""

    host: str
    session_id: int
    version: int = 0
    last: tuple[object, ...] | None = None

    def build(
        self, port: int, audio_pts: tuple[int, ...], event_pt: int | None,
        direction: Direction = "sendrecv", other_media: tuple[str, ...] = (), audio_index: int = 0,
    ) -> bytes:  # fmt: skip
        key = (port, audio_pts, event_pt, direction, other_media, audio_index)
        if key != self.last:
            self.version += 1  # RFC 3264 §8: a changed description gets a higher version
            self.last = key
        addrtype = "IP6" if ":" in self.host else "IP4"
        formats = [str(pt) for pt in audio_pts] + ([str(event_pt)] if event_pt is not None else [])
        attributes = [Attribute("rtpmap", f"{pt} {_NAMES[pt]}/8000") for pt in audio_pts]
        if event_pt is not None:
            attributes += [Attribute("rtpmap", f"{event_pt} telephone-event/8000"),
                           Attribute("fmtp", f"{event_pt} 0-16")]  # fmt: skip
        attributes += [Attribute("ptime", "20"), Attribute(direction)]
        audio = MediaDescription(media="audio", port=port, proto="RTP/AVP",
                                 formats=tuple(formats), attributes=tuple(attributes))  # fmt: skip
        media = [MediaDescription(media=kind, port=0, proto="RTP/AVP", formats=("0",))
                 for kind in other_media]  # fmt: skip
        media.insert(min(audio_index, len(media)), audio)
        sdp = SessionDescription(
            origin=Origin("callrec", self.session_id, self.version, "IN", addrtype, self.host),
            session_name="callrec", connection=Connection("IN", addrtype, self.host),
            media=tuple(media),
        )  # fmt: skip
        return sdp.serialize().encode()
