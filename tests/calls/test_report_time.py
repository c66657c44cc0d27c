"""The report's days are the client's days: zones, offsets, DST and cursors (pure parts)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from callrec.calls.report import ABANDONED_BELOW_S, disposition_of
from callrec.calls.report_cursor import Cursor, decode_cursor, encode_cursor
from callrec.calls.report_schemas import Disposition, SortKey, SortOrder
from callrec.calls.report_time import (
    QuickFilter,
    as_instant,
    days_window,
    local_midnight,
    parse_tz,
    quick_window,
)
from callrec.kit.errors import BadRequest

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        ("UTC", 0),
        ("Z", 0),
        ("+02:00", 120),
        ("-0530", -330),
        ("+5", 300),
        ("UTC+1", 60),
        ("GMT-03:30", -210),
    ],
)
def test_offsets(name: str, offset: int) -> None:
    assert parse_tz(name).utcoffset(None) == timedelta(minutes=offset)


@pytest.mark.parametrize("name", ["Mars/Olympus", "+15:00", "+02:60", "", "../etc/passwd"])
def test_unknown_zones_are_refused_with_the_reason(name: str) -> None:
    with pytest.raises(ValueError, match=r"time zone|offset"):
        parse_tz(name)


def test_a_day_is_23_or_25_hours_around_dst() -> None:
    spring = days_window(date(2026, 3, 8), date(2026, 3, 8), NY)
    autumn = days_window(date(2026, 11, 1), date(2026, 11, 1), NY)
    assert spring.start == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert spring.end is not None and spring.start is not None
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end is not None and autumn.start is not None
    assert autumn.end - autumn.start == timedelta(hours=25)


def test_a_missing_midnight_starts_the_day_after_the_jump() -> None:
    santiago = ZoneInfo("America/Santiago")  # clocks go from 00:00 to 01:00 on 6 Sep 2026
    start = local_midnight(date(2026, 9, 6), santiago)
    assert start.astimezone(santiago).hour == 1
    assert start.astimezone(santiago).date() == date(2026, 9, 6)


def test_quick_windows_in_a_zone() -> None:
    now = datetime(2026, 3, 9, 3, 30, tzinfo=UTC)  # 23:30 on 8 March in New York
    today = quick_window(QuickFilter.TODAY, now, NY)
    assert today.start == datetime(2026, 3, 8, 5, tzinfo=UTC)
    yesterday = quick_window(QuickFilter.YESTERDAY, now, NY)
    assert yesterday.end == today.start
    week = quick_window(QuickFilter.LAST_7_DAYS, now, NY)
    assert week.start == datetime(2026, 3, 2, 5, tzinfo=UTC) and week.end == today.end
    assert quick_window(QuickFilter.MISSED, now, NY).start is None


def test_naive_times_are_wall_clock_in_the_zone() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert as_instant(datetime(2026, 1, 1, 2), plus2) == datetime(2026, 1, 1, tzinfo=UTC)
    aware = datetime(2026, 1, 1, 2, tzinfo=UTC)
    assert as_instant(aware, plus2) == aware


def test_dispositions_from_timestamps() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    s = timedelta(seconds=1)
    assert disposition_of(t, t + s, t + 9 * s) is Disposition.ANSWERED
    assert disposition_of(t, None, t + ABANDONED_BELOW_S * s) is Disposition.MISSED
    assert disposition_of(t, None, t + (ABANDONED_BELOW_S - 0.001) * s) is Disposition.ABANDONED
    assert disposition_of(t, None, None) is None
    assert disposition_of(t, t + s, None) is Disposition.ANSWERED  # answered, still talking


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        (SortKey.STARTED_AT, datetime(2026, 1, 1, 12, tzinfo=UTC)),
        (SortKey.DURATION, 12.345),
        (SortKey.FROM_NUMBER, "+4420"),
        (SortKey.TO_NUMBER, ""),
    ],
)
def test_cursors_round_trip(sort: SortKey, value: object) -> None:
    cursor = Cursor(sort, SortOrder.ASC, value, uuid.uuid4())  # type: ignore[arg-type]
    assert decode_cursor(encode_cursor(cursor), sort, SortOrder.ASC) == cursor


@pytest.mark.parametrize(
    "text", ["", "%%%", "bm90IGpzb24", "WzEsMiwzXQ", "WyJkdXJhdGlvbiIsImFzYyIsIngiLCJ5Il0"]
)
def test_bad_cursors_are_a_400(text: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(text, SortKey.DURATION, SortOrder.ASC)
