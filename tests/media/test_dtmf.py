from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callrec.media.dtmf import DIGITS, Digit, DtmfDetector, DtmfError, DtmfEvent
from callrec.media.rtp import RtpPacket

PT_EVENT = 101  # the usual dynamic payload type for telephone-event/8000


def block(event: int, end: bool, volume: int, duration: int) -> bytes:
    """One RFC 4733 §2.3 event block, byte by byte: event | E R volume | duration (big-endian)."""
    return bytes([event, (0x80 if end else 0) | volume, duration >> 8, duration & 0xFF])


Packet = tuple[int, bool, bytes]  # (RTP timestamp, marker, payload), what the detector is fed


def press(event: int, ts: int, updates: int, step: int = 400) -> list[Packet]:
    """The packets RFC 4733 §2.5.1 has a sender emit for one key press.

    Every packet carries the press's start timestamp; the first has the marker bit; updates follow
    every 50 ms (400 samples at 8 kHz) with the duration so far; the final duration goes out with
    the E bit three times.
    """
    packets = [(ts, i == 0, block(event, False, 10, step * (i + 1))) for i in range(updates)]
    final = step * (updates + 1)
    return packets + [(ts, False, block(event, True, 10, final))] * 3


def feed(detector: DtmfDetector, packets: Iterable[Packet]) -> list[Digit]:
    return [digit for packet in packets for digit in detector.feed(*packet)]


def test_an_event_block_parses_and_serializes() -> None:
    data = bytes([0x05, 0x8A, 0x03, 0x20])  # '5', E=1, volume 10, duration 800
    assert DtmfEvent.parse(data) == DtmfEvent(event=5, end=True, volume=10, duration=800)
    assert DtmfEvent(5, True, 10, 800).serialize() == data
    # The reserved R bit is ignored on receipt and sent as zero.
    assert DtmfEvent.parse(bytes([0x0B, 0x4A, 0x00, 0xA0])) == DtmfEvent(11, False, 10, 160)


def test_an_event_rides_in_an_rtp_packet_with_the_marker_on_the_first() -> None:
    data = bytes.fromhex("80 e5 0001 00001f40 12345678 05 0a 00a0")  # M=1 PT=101, '5', 160
    packet = RtpPacket.parse(data)
    assert (packet.payload_type, packet.marker, packet.timestamp) == (PT_EVENT, True, 8000)
    assert DtmfEvent.parse(packet.payload) == DtmfEvent(5, False, 10, 160)
    assert DtmfDetector().feed(packet.timestamp, packet.marker, packet.payload) == ()


@pytest.mark.parametrize("data", [b"", b"\x05\x8a\x03", b"\x05\x8a\x03\x20" * 2])
def test_payloads_that_are_not_one_block_are_refused(data: bytes) -> None:
    with pytest.raises(DtmfError, match="4 bytes"):
        DtmfEvent.parse(data)
    with pytest.raises(DtmfError):
        DtmfDetector().feed(0, True, data)


@pytest.mark.parametrize(
    "event",
    [DtmfEvent(256, False, 0, 0), DtmfEvent(1, False, 64, 0), DtmfEvent(1, True, 0, 1 << 16)],
)
def test_events_that_do_not_fit_refuse_to_serialize(event: DtmfEvent) -> None:
    with pytest.raises(DtmfError):
        event.serialize()


@given(st.integers(0, 255), st.booleans(), st.integers(0, 63), st.integers(0, 0xFFFF))
def test_events_round_trip(event: int, end: bool, volume: int, duration: int) -> None:
    value = DtmfEvent(event, end, volume, duration)
    assert DtmfEvent.parse(value.serialize()) == value


def test_a_press_is_reported_once_at_its_first_end_packet() -> None:
    detector = DtmfDetector()
    packets = press(5, ts=8000, updates=4)  # 200 ms updates, then 250 ms final, three times
    reported = [detector.feed(*packet) for packet in packets]
    assert reported[:4] == [(), (), (), ()]
    assert reported[4] == (Digit("5", 8000, 2000),)
    assert reported[5:] == [(), ()]
    assert detector.flush() == ()


def test_retransmitted_and_reordered_updates_do_not_repeat_or_shorten_a_press() -> None:
    packets = press(9, ts=1000, updates=4)
    shuffled = [
        packets[0],
        packets[2],
        packets[1],
        packets[1],
        packets[4],
        packets[3],
        *packets[4:],
    ]
    assert feed(DtmfDetector(), shuffled) == [Digit("9", 1000, 2000)]


def test_two_presses_back_to_back() -> None:
    packets = press(1, ts=16000, updates=3) + press(2, ts=16000 + 2400, updates=2)
    assert feed(DtmfDetector(), packets) == [Digit("1", 16000, 1600), Digit("2", 18400, 1200)]


def test_the_same_digit_twice_is_two_presses() -> None:
    packets = press(0, ts=0, updates=1) + press(0, ts=1600, updates=1)
    assert feed(DtmfDetector(), packets) == [Digit("0", 0, 800), Digit("0", 1600, 800)]


def test_a_press_whose_end_packets_are_all_lost_ends_when_the_next_one_starts() -> None:
    # Chosen behaviour: a new timestamp means the sender has moved on, so the open press is
    # reported then, with the longest duration seen; its end packets, if they turn up later,
    # are stragglers and ignored.
    detector = DtmfDetector()
    three = press(3, ts=4000, updates=4)
    four = press(4, ts=8000, updates=2)
    assert feed(detector, three[:4]) == []
    assert detector.feed(*four[0]) == (Digit("3", 4000, 1600),)
    assert feed(detector, three[4:]) == []
    assert feed(detector, four[1:]) == [Digit("4", 8000, 1200)]


def test_flush_reports_a_press_left_open_when_the_stream_stops() -> None:
    detector = DtmfDetector()
    assert feed(detector, press(11, ts=0, updates=3)[:3]) == []
    assert detector.flush() == (Digit("#", 0, 1200),)
    assert detector.flush() == ()


def test_a_press_seen_only_through_its_end_packets_is_still_reported() -> None:
    assert feed(DtmfDetector(), press(10, ts=480, updates=5)[5:]) == [Digit("*", 480, 2400)]


def test_a_lone_end_packet_after_an_open_press_reports_both() -> None:
    detector = DtmfDetector()
    feed(detector, press(6, ts=0, updates=2)[:2])
    assert detector.feed(3200, False, block(7, True, 10, 800)) == (
        Digit("6", 0, 800),
        Digit("7", 3200, 800),
    )


def test_timestamps_wrap_between_presses() -> None:
    start = 2**32 - 800
    packets = press(8, ts=start, updates=1) + press(9, ts=800, updates=1)
    assert feed(DtmfDetector(), packets) == [Digit("8", start, 800), Digit("9", 800, 800)]


def test_a_long_press_continues_in_new_segments() -> None:
    # RFC 4733 §2.5.1.3: past the 16-bit duration, the event goes on in a segment timestamped
    # where the previous one ran out, without the marker bit; one press of 9.5 s in total.
    packets = [
        (0, True, block(1, False, 10, 400)),
        (0, False, block(1, False, 10, 0xFFFF)),
        (0xFFFF, False, block(1, False, 10, 400)),
        (0xFFFF, False, block(1, True, 10, 76000 - 0xFFFF)),
        (0xFFFF, False, block(1, True, 10, 76000 - 0xFFFF)),
    ]
    assert feed(DtmfDetector(), packets) == [Digit("1", 0, 76000)]


def test_every_key_and_flash_are_named_and_other_events_are_ignored() -> None:
    assert len(DIGITS) == 17
    assert DIGITS[9:] == ("9", "*", "#", "A", "B", "C", "D", "flash")
    detector = DtmfDetector()
    for code, name in enumerate(DIGITS):
        assert detector.feed(code * 1000, True, block(code, True, 10, 160)) == (
            Digit(name, code * 1000, 160),
        )
    assert detector.feed(99_000, True, block(32, True, 10, 160)) == ()  # a modem answer tone
