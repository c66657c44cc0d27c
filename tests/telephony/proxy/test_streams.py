"""The streams the proxy sends a party, without sockets: relayed packets re-stamped into one
continuous stream (our SSRC, sequence, timestamps) across our own frames, a new source, a late
source during a beep and PCMU→PCMA; RFC 4733 events keep their timestamps."""

from __future__ import annotations

import itertools
import struct

import pytest

from callrec.media.beep import BeepMixer, tone
from callrec.telephony.proxy.media import Codec, Outbound

PCMU, PCMA = Codec(0, 101), Codec(8, 101)


def _rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes = b"\xff" * 160) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def _headers(sent: list[bytes]) -> list[tuple[int, int, int, int]]:
    return [struct.unpack("!xBHII", p[:12]) for p in sent]  # (m|pt, seq, ts, ssrc)


@pytest.fixture
def sent() -> list[bytes]:
    return []


def test_prompt_then_relay_is_one_stream_on_the_clock(sent: list[bytes]) -> None:
    out = Outbound(PCMU, sent.append)
    t0 = out.sent_at
    for i in range(3):
        out.own(b"\xff" * 160, t0 + 0.02 * i)
    for i in range(3):  # the callee's packets, 0.5 s after the prompt ended
        out.relay(_rtp(0, 5000 + i, 90000 + 160 * i, 0xABC), t0 + 0.54 + 0.02 * i, PCMU)
    heads = _headers(sent)
    assert {h[3] for h in heads} == {out.ssrc}
    seqs = [h[1] for h in heads]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(6)]
    ts = [h[2] for h in heads]
    assert [t - ts[0] for t in ts[:3]] == [0, 160, 320]
    assert ts[3] - ts[0] == 0.54 * 8000  # placed where the wall clock says
    assert [t - ts[3] for t in ts[3:]] == [0, 160, 320]  # then the sender's own timing
    assert heads[3][0] & 0x7F == 0


def test_a_late_source_during_a_beep_leaves_no_hole(sent: list[bytes]) -> None:
    out = Outbound(PCMU, sent.append)
    t0 = out.sent_at
    out.beep = BeepMixer(tone(1400.0, 200), 1.0, out.expected_ts(t0))
    for i in range(50):  # a second of audio, to just before the beep
        out.relay(_rtp(0, i, 160 * i, 7), t0 + 0.02 * i, PCMU)
    out.beep_only(t0 + 1.1)  # the source is late: we send the beep on our own
    out.relay(_rtp(0, 50, 8000, 7), t0 + 1.12, PCMU)  # ... then its late packet comes
    ts = [h[2] for h in _headers(sent)]
    assert ts[-2] - ts[-3] >= 160 and ts[-1] - ts[-2] == 160  # contiguous after our frame


def test_pcmu_is_transcoded_to_a_pcma_party_and_events_keep_their_timestamp(
    sent: list[bytes],
) -> None:
    out = Outbound(Codec(8, 96), sent.append)
    t0 = out.sent_at
    out.relay(_rtp(0, 1, 1000, 9, b"\xff" * 160), t0, PCMU)
    event = struct.pack("!BBH", 5, 10, 160)
    out.relay(_rtp(101, 2, 1160, 9, event), t0 + 0.02, PCMU)
    out.relay(_rtp(101, 3, 1160, 9, event), t0 + 0.04, PCMU)
    heads = _headers(sent)
    assert heads[0][0] & 0x7F == 8 and sent[0][12:] == b"\xd5" * 160  # A-law silence
    assert [h[0] & 0x7F for h in heads[1:]] == [96, 96]  # the party's event payload type
    assert heads[1][2] == heads[2][2] == heads[0][2] + 160
    out.relay(_rtp(13, 4, 1320, 9, b"\x00"), t0 + 0.06, PCMU)  # comfort noise: not ours
    assert len(sent) == 3


def test_a_party_whose_peer_sends_nothing_still_hears_the_beep(sent: list[bytes]) -> None:
    """No relayed packets at all: while the beep is due the stream carries it on its own, at
    its place on the clock, and nothing is sent outside it."""
    out = Outbound(PCMU, sent.append)
    t0 = out.sent_at
    origin = out.expected_ts(t0)
    out.beep = BeepMixer(tone(1400.0, 200), 1.0, origin)
    ticks = [t0 + 0.5 + 0.02 * i for i in range(60)]  # 0.5 s to 1.7 s, every 20 ms
    for now in ticks:
        out.beep_only(now)
    heads = _headers(sent)
    assert 10 <= len(heads) <= 12  # the 200 ms beep, in 20 ms frames
    assert (heads[0][2] - origin) / 8000 == pytest.approx(1.0, abs=0.02)
    assert all(b[2] - a[2] == 160 for a, b in itertools.pairwise(heads))
    assert all(p[12:] != b"\xff" * 160 for p in sent[:-1])  # each frame carries tone
