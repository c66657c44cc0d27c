from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given
from hypothesis import strategies as st

from callrec.media.timeline import LegTimeline, TimelineStats

SSRC = 0x5EC0FFEE
PTIME = 0.020
SAMPLES = 160  # per 20 ms packet at 8 kHz

# (seq, ts, arrival_s) of one received packet; the SSRC is SSRC unless a test says otherwise
Packet = tuple[int, int, float]


def stream(
    n: int, seq0: int = 1000, ts0: int = 50_000, start_s: float = 0.0, first: int = 0
) -> list[Packet]:
    """Packets ``first``..``n - 1`` of a 20 ms stream, arriving on time from ``start_s``."""
    return [
        ((seq0 + i) & 0xFFFF, (ts0 + SAMPLES * i) & 0xFFFFFFFF, start_s + PTIME * i)
        for i in range(first, n)
    ]


def place_all(
    timeline: LegTimeline, packets: Iterable[Packet], ssrc: int = SSRC
) -> list[int | None]:
    return [timeline.place(ssrc, seq, ts, SAMPLES, arrival) for seq, ts, arrival in packets]


def test_an_in_order_stream_is_laid_end_to_end() -> None:
    timeline = LegTimeline()
    assert place_all(timeline, stream(6)) == [0, 160, 320, 480, 640, 800]
    assert timeline.stats == TimelineStats(6, 0, 0, 0, expected=6, lost=0)


def test_a_leg_that_starts_after_the_recording_is_anchored_at_its_arrival() -> None:
    # e.g. a stream added by a re-INVITE 3 s into the recording
    assert place_all(LegTimeline(), stream(3, start_s=3.0)) == [24000, 24160, 24320]


def test_reordered_packets_land_where_their_timestamps_say() -> None:
    packets = stream(8)
    order = [0, 2, 1, 3, 6, 4, 5, 7]
    # Each arrives at the time the packet in its place in the order was due.
    arrived = [(packets[i][0], packets[i][1], packets[slot][2]) for slot, i in enumerate(order)]
    timeline = LegTimeline()
    assert place_all(timeline, arrived) == [SAMPLES * i for i in order]
    assert timeline.stats.lost == 0


def test_loss_leaves_a_gap_and_is_counted() -> None:
    packets = stream(10)
    kept = [p for i, p in enumerate(packets) if i not in (3, 4, 8)]
    timeline = LegTimeline()
    assert place_all(timeline, kept) == [0, 160, 320, 800, 960, 1120, 1440]
    assert timeline.stats == TimelineStats(7, 0, 0, 0, expected=10, lost=3)


def test_duplicates_are_dropped() -> None:
    packets = stream(4)
    timeline = LegTimeline()
    arrived = [packets[0], packets[1], packets[1], packets[3], packets[2], packets[3], packets[0]]
    assert place_all(timeline, arrived) == [0, 160, None, 480, 320, None, None]
    assert timeline.stats == TimelineStats(4, 3, 0, 0, expected=4, lost=0)


def test_timestamps_stay_continuous_across_the_32_bit_wrap() -> None:
    packets = stream(6, ts0=2**32 - 2 * SAMPLES)
    assert [ts for _, ts, _ in packets][1:4] == [2**32 - SAMPLES, 0, SAMPLES]
    timeline = LegTimeline()
    reordered = [packets[0], packets[2], packets[1], *packets[3:]]
    assert place_all(timeline, reordered) == [0, 320, 160, 480, 640, 800]


def test_sequence_numbers_wrap_without_losing_count() -> None:
    packets = stream(6, seq0=65533)
    timeline = LegTimeline()
    offsets = place_all(timeline, [p for i, p in enumerate(packets) if i != 3])
    assert offsets == [0, 160, 320, 640, 800]
    assert timeline.stats == TimelineStats(5, 0, 0, 0, expected=6, lost=1)
    assert place_all(timeline, [packets[3], packets[3]]) == [480, None]  # late, then duplicate


def test_a_new_ssrc_is_anchored_at_its_arrival() -> None:
    timeline = LegTimeline()
    place_all(timeline, stream(50))  # 1 s from the first source
    # A transfer: after 0.5 s of nothing, a new source with unrelated numbering.
    offsets = place_all(timeline, stream(3, seq0=7, ts0=3_000_000_000, start_s=1.5), ssrc=0xB0B)
    assert offsets == [12000, 12160, 12320]
    assert timeline.stats == TimelineStats(53, 0, 0, 1, expected=53, lost=0)


def test_a_new_ssrc_never_overlaps_audio_already_placed() -> None:
    timeline = LegTimeline()
    place_all(timeline, stream(50))  # ends at sample 8000
    # The new source's first packet arrives 5 ms early (jitter): it continues the leg instead.
    offsets = place_all(timeline, stream(2, seq0=1, ts0=99, start_s=0.995), ssrc=0xB0B)
    assert offsets == [8000, 8160]


def test_a_timestamp_jump_against_arrival_time_reanchors() -> None:
    # An SBC that restarts timestamps on resume: sequence numbers carry on, timestamps leap.
    timeline = LegTimeline()
    before = stream(50)
    after = [(seq + 50, ts + 80_000_000, arrival + 1.0) for seq, ts, arrival in stream(3)]
    assert place_all(timeline, before[:48] + before[49:])[-1] == 49 * SAMPLES
    assert place_all(timeline, after) == [8000, 8160, 8320]
    assert timeline.stats.reanchors == 1
    # Packet 48, delayed past the jump, is now seconds off: dropped rather than misplaced.
    assert place_all(timeline, [(before[48][0], before[48][1], 1.07)]) == [None]
    assert timeline.stats == TimelineStats(52, 0, 1, 1, expected=53, lost=1)


def test_hold_with_timestamps_kept_running_leaves_a_gap_without_reanchoring() -> None:
    timeline = LegTimeline()
    packets = stream(300)  # 6 s of timestamps, but 4 s of them never sent (hold)
    offsets = place_all(timeline, packets[:50] + packets[250:])
    assert offsets[49:51] == [49 * SAMPLES, 250 * SAMPLES]
    assert timeline.stats.reanchors == 0


def test_hold_with_timestamps_frozen_reanchors_so_the_gap_matches_the_wall_clock() -> None:
    timeline = LegTimeline()
    place_all(timeline, stream(50))
    # Resumed 5 s later, timestamps continuing as if no time had passed.
    resumed = [(seq, ts, arrival + 5.0) for seq, ts, arrival in stream(53, first=50)]
    assert place_all(timeline, resumed) == [48000, 48160, 48320]
    assert timeline.stats.reanchors == 1


def test_jitter_of_40_ms_does_not_move_anything() -> None:
    timeline = LegTimeline()
    jitter = [0.04, -0.04, 0.0, 0.035, -0.02, 0.04, -0.04, 0.01] * 25
    packets = [
        (seq, ts, 1.0 + arrival + j)
        for (seq, ts, arrival), j in zip(stream(200), jitter, strict=True)
    ]
    offsets = place_all(timeline, packets)
    assert offsets == [8320 + SAMPLES * i for i in range(200)]  # anchored on the first, +40 ms
    assert timeline.stats.reanchors == 0


def test_packets_before_the_recording_start_are_dropped() -> None:
    timeline = LegTimeline()
    # The leg's first packet arrives the moment the recording starts; its predecessor after it.
    (s0, t0, _), (s1, t1, _), (s2, t2, _) = stream(3)
    assert place_all(timeline, [(s1, t1, 0.0), (s0, t0, 0.01), (s2, t2, 0.02)]) == [0, None, 160]
    assert timeline.stats == TimelineStats(2, 0, 1, 0, expected=2, lost=0)


def test_a_sequence_restart_is_believed_on_the_second_packet() -> None:
    timeline = LegTimeline()
    place_all(timeline, stream(10, seq0=1000))
    # Same SSRC and timestamps, numbering restarted at 40000 (RFC 3550 A.1 probation).
    restarted = [((seq + 39000) & 0xFFFF, ts, a) for seq, ts, a in stream(13, first=10)]
    assert place_all(timeline, restarted) == [None, 11 * SAMPLES, 12 * SAMPLES]
    assert timeline.stats == TimelineStats(12, 0, 1, 0, expected=12, lost=0)


def test_a_packet_too_old_to_check_for_duplicates_is_dropped() -> None:
    timeline = LegTimeline()
    packets = stream(400)
    place_all(timeline, packets[1:])
    assert place_all(timeline, [packets[0]]) == [None]
    stats = timeline.stats
    assert stats.received + stats.duplicates + stats.dropped == 400


@given(
    seq0=st.integers(0, 0xFFFF) | st.integers(0xFFFF - 150, 0xFFFF),  # the latter wrap
    ts0=st.integers(0, 2**32 - 1) | st.integers(2**32 - 150 * SAMPLES, 2**32 - 1),
    start_s=st.floats(0.5, 100.0),
    packets=st.lists(
        st.tuples(st.booleans(), st.floats(0.0, 0.1), st.booleans()), min_size=1, max_size=150
    ),
)
def test_consistent_timestamps_are_placed_exactly_despite_reordering_and_loss(
    seq0: int, ts0: int, start_s: float, packets: list[tuple[bool, float, bool]]
) -> None:
    # Packet i: lost?, network delay (up to 100 ms, so up to 5 packets of reordering), duplicated?
    sent = [
        ((seq0 + i) & 0xFFFF, (ts0 + SAMPLES * i) & 0xFFFFFFFF, start_s + PTIME * i + delay, i)
        for i, (lost, delay, duplicated) in enumerate(packets)
        if not lost
        for _ in range(2 if duplicated else 1)
    ]
    if not sent:
        return
    arrived = sorted(sent, key=lambda p: p[2])
    first = arrived[0]
    anchor = round(first[2] * 8000) - SAMPLES * first[3]  # where packet 0 would go
    timeline = LegTimeline()
    placed: dict[int, int] = {}
    for seq, ts, arrival, i in arrived:
        offset = timeline.place(SSRC, seq, ts, SAMPLES, arrival)
        if offset is not None:
            assert i not in placed
            placed[i] = offset
    assert placed == {i: anchor + SAMPLES * i for *_, i in sent}
    stats = timeline.stats
    assert (stats.received, stats.dropped, stats.reanchors) == (len(placed), 0, 0)
    assert stats.duplicates == len(sent) - len(placed)
    assert stats.lost == max(placed) - min(placed) + 1 - len(placed)
