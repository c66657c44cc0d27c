"""Time zones and the relative date filters of call-list reports (pure: no I/O).

A report's days are the viewer's days: "today" is from local midnight to the next local
midnight in the zone the client names, converted to UTC instants for the query. Around a DST
change a local day is 23 or 25 hours long; a midnight that does not exist (the clock jumps at
00:00) starts the day at the first instant after the jump.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class QuickFilter(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    LAST_7_DAYS = "last_7_days"  # today and the six days before it
    MISSED = "missed"
    RECORDED = "recorded"


DATE_QUICK_FILTERS = frozenset({QuickFilter.TODAY, QuickFilter.YESTERDAY, QuickFilter.LAST_7_DAYS})

_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_tz(name: str) -> tzinfo:
    """An IANA zone name, 'UTC'/'Z', or a fixed offset such as '+02:00', '-0530', 'UTC+1'."""
    text = name.strip()
    if text.upper() in {"UTC", "Z", "GMT"}:
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise ValueError(f"UTC offset {name!r} is out of range (-14:00 to +14:00)")
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}: give an IANA name such as 'Europe/Berlin' or an "
            "offset such as '+02:00'"
        ) from exc


@dataclass(frozen=True, slots=True)
class Window:
    """Start times in [start, end); either side may be open."""

    start: datetime | None = None
    end: datetime | None = None

    def intersect(self, other: Window) -> Window:
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        return Window(max(starts) if starts else None, min(ends) if ends else None)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The first UTC instant of ``day`` in ``zone``. ``fold=0`` on a non-existent midnight
    reads it with the offset before the jump, which lands on the first instant after it."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def days_window(first: date | None, last: date | None, zone: tzinfo) -> Window:
    """Local days ``first`` to ``last``, both inclusive."""
    return Window(
        local_midnight(first, zone) if first else None,
        local_midnight(last + timedelta(days=1), zone) if last else None,
    )


def quick_window(quick: QuickFilter, now: datetime, zone: tzinfo) -> Window:
    today = now.astimezone(zone).date()
    if quick is QuickFilter.TODAY:
        return days_window(today, today, zone)
    if quick is QuickFilter.YESTERDAY:
        yesterday = today - timedelta(days=1)
        return days_window(yesterday, yesterday, zone)
    if quick is QuickFilter.LAST_7_DAYS:
        return days_window(today - timedelta(days=6), today, zone)
    return Window()


def as_instant(value: datetime, zone: tzinfo) -> datetime:
    """An aware datetime as is; a naive one is a wall-clock time in ``zone``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)
