"""The call-list report as one SQL statement: visibility, filters, sort and keyset page.

Every sort walks an index (``Call.__table_args__``) from the cursor on: ``(org_id, started_at,
id)`` for the default newest-first list, the number indexes for from/to. The id breaks ties,
so the order is total and a page boundary never drops or repeats a row, also when calls are
added between two pages. There is no OFFSET: a deep page costs what the first one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from callrec.access.guard import require
from callrec.access.rules import Actor, can_filter_by_recording
from callrec.calls.report_cursor import Cursor
from callrec.calls.report_schemas import Disposition, ReportFilters, SortKey, SortOrder
from callrec.calls.report_time import (
    DATE_QUICK_FILTERS,
    QuickFilter,
    Window,
    as_instant,
    days_window,
    parse_tz,
    quick_window,
)
from callrec.calls.visibility import own_calls_clause, visible_calls_clause
from callrec.models import Call, Participant, Recording, RecordingState, call_teams

# An unanswered call that ended sooner than this was abandoned (the caller gave up before
# anyone could reasonably answer); one that rang at least this long was missed.
ABANDONED_BELOW_S = 5.0


class duration_seconds(FunctionElement[float]):  # noqa: N801 (SQL function style)
    """``ended - started`` in seconds, rounded to milliseconds (NULL while ``ended`` is)."""

    type = Float()
    name = "duration_seconds"
    inherit_cache = True


@compiles(duration_seconds)
def _duration_pg(element: duration_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    ended, started = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(ROUND(EXTRACT(EPOCH FROM ({ended} - {started})), 3) AS DOUBLE PRECISION)"


@compiles(duration_seconds, "sqlite")
def _duration_sqlite(element: duration_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    ended, started = (compiler.process(c, **kw) for c in element.clauses)
    return f"ROUND((julianday({ended}) - julianday({started})) * 86400.0, 3)"


DURATION = duration_seconds(Call.ended_at, Call.started_at)

SORT_COLUMNS: dict[SortKey, ColumnElement[Any]] = {
    SortKey.STARTED_AT: Call.__table__.c.started_at,
    # In-progress calls (no duration yet) sort as the shortest.
    SortKey.DURATION: func.coalesce(DURATION, -1.0),
    SortKey.FROM_NUMBER: Call.__table__.c.from_number,
    SortKey.TO_NUMBER: Call.__table__.c.to_number,
}


def duration_of(started: datetime, ended: datetime | None) -> float | None:
    return None if ended is None else round((ended - started).total_seconds(), 3)


def disposition_of(
    started: datetime, answered: datetime | None, ended: datetime | None
) -> Disposition | None:
    """The same rule as ``disposition_clause``, for one row."""
    if answered is not None:
        return Disposition.ANSWERED
    duration = duration_of(started, ended)
    if duration is None:
        return None
    return Disposition.ABANDONED if duration < ABANDONED_BELOW_S else Disposition.MISSED


def disposition_clause(wanted: list[Disposition]) -> ColumnElement[bool]:
    unanswered_ended = and_(Call.answered_at.is_(None), Call.ended_at.is_not(None))
    parts = {
        Disposition.ANSWERED: Call.answered_at.is_not(None),
        Disposition.ABANDONED: and_(unanswered_ended, DURATION < ABANDONED_BELOW_S),
        Disposition.MISSED: and_(unanswered_ended, DURATION >= ABANDONED_BELOW_S),
    }
    return or_(*(parts[d] for d in sorted(set(wanted))))


def _recording_exists(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(Recording.call_id == Call.id, *conditions)


def has_recording_clause(wanted: bool) -> ColumnElement[bool]:
    """A call "has a recording" when one of its segments' recordings did not fail."""
    clause = _recording_exists(Recording.state != RecordingState.FAILED)
    return clause if wanted else not_(clause)


def quality_flag_clause(flags: list[str]) -> ColumnElement[bool]:
    # Flags are identifiers ([a-z0-9_]) stored as a JSON list: matching the quoted name in its
    # text is exact and works on both backends. Any of the flags, on any of the recordings.
    text = cast(Recording.quality_flags, String)
    return _recording_exists(or_(*(text.like(f'%"{flag}"%') for flag in sorted(set(flags)))))


def time_window(filters: ReportFilters, now: datetime) -> Window:
    zone = parse_tz(filters.tz)
    window = days_window(filters.date_from, filters.date_to, zone)
    for quick in set(filters.quick) & DATE_QUICK_FILTERS:
        window = window.intersect(quick_window(quick, now, zone))
    explicit = Window(
        as_instant(filters.started_after, zone) if filters.started_after else None,
        as_instant(filters.started_before, zone) if filters.started_before else None,
    )
    return window.intersect(explicit)


def filter_clauses(
    actor: Actor, filters: ReportFilters, now: datetime
) -> list[ColumnElement[bool]]:
    """Every filter as a condition on ``calls`` (ANDed by the caller)."""
    out: list[ColumnElement[bool]] = []
    window = time_window(filters, now)
    if window.start is not None:
        out.append(Call.started_at >= window.start)
    if window.end is not None:
        out.append(Call.started_at < window.end)
    if window.start is not None and window.end is not None and window.start >= window.end:
        out.append(false())
    if filters.direction:
        out.append(Call.direction.in_(sorted(set(filters.direction))))
    if filters.user_id:
        out.append(
            exists().where(
                Participant.call_id == Call.id,
                Participant.user_id.in_(sorted(set(filters.user_id))),
            )
        )
    if filters.team_id:
        out.append(
            exists().where(
                call_teams.c.call_id == Call.id,
                call_teams.c.team_id.in_(sorted(set(filters.team_id))),
            )
        )
    out.extend(_number_clauses(filters))
    if filters.min_duration_s is not None:
        out.append(filters.min_duration_s <= DURATION)
    if filters.max_duration_s is not None:
        out.append(filters.max_duration_s >= DURATION)
    if filters.disposition:
        out.append(disposition_clause(filters.disposition))
    if QuickFilter.MISSED in filters.quick:
        out.append(disposition_clause([Disposition.MISSED]))
    out.extend(_recording_clauses(actor, filters))
    return out


def _number_clauses(filters: ReportFilters) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if filters.number:
        out.append(
            or_(
                Call.from_number.startswith(filters.number, autoescape=True),
                Call.to_number.startswith(filters.number, autoescape=True),
            )
        )
    if filters.from_number:
        out.append(Call.from_number.startswith(filters.from_number, autoescape=True))
    if filters.to_number:
        out.append(Call.to_number.startswith(filters.to_number, autoescape=True))
    return out


def _recording_clauses(actor: Actor, filters: ReportFilters) -> list[ColumnElement[bool]]:
    has = filters.has_recording
    if QuickFilter.RECORDED in filters.quick:
        if has is False:
            return [false()]  # "recorded" and "has no recording" exclude each other
        has = True
    if has is None and not filters.recording_status and not filters.quality_flag:
        return []
    require(can_filter_by_recording(actor))
    out: list[ColumnElement[bool]] = []
    if has is not None:
        out.append(has_recording_clause(has))
    if filters.recording_status:
        out.append(_recording_exists(Recording.state.in_(sorted(set(filters.recording_status)))))
    if filters.quality_flag:
        out.append(quality_flag_clause(filters.quality_flag))
    return out


def keyset_clause(key: ColumnElement[Any], cursor: Cursor) -> ColumnElement[bool]:
    """Rows after the cursor. Written as ``key <= v AND (key < v OR id < last)`` (for
    descending) rather than a row-value comparison: the first term is a plain range on the
    index on both SQLite and PostgreSQL."""
    if cursor.order is SortOrder.DESC:
        return and_(key <= cursor.value, or_(key < cursor.value, Call.id < cursor.id))
    return and_(key >= cursor.value, or_(key > cursor.value, Call.id > cursor.id))


@dataclass(frozen=True, slots=True)
class ReportRequest:
    actor: Actor
    filters: ReportFilters
    now: datetime
    own_only: bool = False  # the unified history: the actor's own calls only


def report_select(request: ReportRequest, cursor: Cursor | None, limit: int) -> Select[Any]:
    """One page (``limit`` rows, plus one to tell whether another page follows)."""
    filters = request.filters
    key = SORT_COLUMNS[filters.sort].label("sort_key")
    scope = (
        and_(Call.org_id == request.actor.org_id, own_calls_clause(request.actor.user_id))
        if request.own_only
        else visible_calls_clause(request.actor)
    )
    stmt = select(
        Call.id,
        Call.external_id,
        Call.direction,
        Call.from_number,
        Call.to_number,
        Call.started_at,
        Call.answered_at,
        Call.ended_at,
        key,
    ).where(scope, *filter_clauses(request.actor, filters, request.now))
    if cursor is not None:
        stmt = stmt.where(keyset_clause(SORT_COLUMNS[filters.sort], cursor))
    column = SORT_COLUMNS[filters.sort]
    if filters.order is SortOrder.DESC:
        stmt = stmt.order_by(column.desc(), Call.id.desc())
    else:
        stmt = stmt.order_by(column.asc(), Call.id.asc())
    return stmt.limit(limit + 1)
