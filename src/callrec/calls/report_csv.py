"""CSV rendering of report rows, one chunk of text per keyset page (pure formatting).

Times are written in the report's zone (ISO 8601 with its offset). Cells are neutralised
against spreadsheet formula injection: numbers and names come from SIP signalling, which a
caller controls, so a cell that a spreadsheet would run as a formula ('=', '@', '+'/'-'
followed by anything but a phone number, tab, CR) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo

from callrec.calls.report_schemas import CallReportRow

HEADER = (
    "call_id", "started_at", "answered_at", "ended_at", "duration_s", "direction",
    "disposition", "from", "to", "users", "team_ids", "playable_recordings",
)  # fmt: skip

_PHONE = re.compile(r"^[+-][0-9 ().\-]*$")
_FORMULA_START = ("=", "@", "\t", "\r", "+", "-")


def safe_cell(value: str) -> str:
    if value.startswith(_FORMULA_START) and not _PHONE.match(value):
        return "'" + value
    return value


def _time(value: datetime | None, zone: tzinfo) -> str:
    return "" if value is None else value.astimezone(zone).isoformat()


def row_cells(row: CallReportRow, zone: tzinfo) -> list[str]:
    return [
        str(row.id),
        _time(row.started_at, zone),
        _time(row.answered_at, zone),
        _time(row.ended_at, zone),
        "" if row.duration_s is None else f"{row.duration_s:g}",
        row.direction.value,
        row.disposition.value if row.disposition else "",
        safe_cell(row.from_number),
        safe_cell(row.to_number),
        safe_cell("; ".join(u.name for u in row.users)),
        " ".join(str(t) for t in row.team_ids),
        str(row.playable_recordings),
    ]


def csv_chunks(pages: Iterable[list[CallReportRow]], zone: tzinfo) -> Iterator[str]:
    """The header, then one chunk per page."""
    yield _lines([list(HEADER)])
    for page in pages:
        yield _lines(row_cells(row, zone) for row in page)


def _lines(rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()
