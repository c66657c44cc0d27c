"""HTTP adapters of the call-list report, the unified history and saved filters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from callrec.access.deps import ActorDep
from callrec.access.rules import Actor
from callrec.calls.report_csv import csv_chunks
from callrec.calls.report_schemas import (
    CallReportPage,
    CallReportRow,
    ReportQuery,
    SavedFilterCreate,
    SavedFilterRead,
    SavedFilterUpdate,
)
from callrec.calls.report_service import CallReportService, SavedFilterService
from callrec.calls.report_time import parse_tz
from callrec.kit.deps import SessionDep

router = APIRouter(tags=["reports"])

QueryDep = Annotated[ReportQuery, Query()]


@router.get("/reports/calls", response_model=CallReportPage)
def report_calls(
    query: QueryDep, actor: ActorDep, session: SessionDep, request: Request
) -> CallReportPage:
    """The call-list report: the calls the viewer's scope shows, filtered, sorted, one keyset
    page at a time (follow ``next_cursor``)."""
    return CallReportService(session, request.app.state.clock).page(actor, query)


@router.get("/me/calls", response_model=CallReportPage)
def my_calls(
    query: QueryDep, actor: ActorDep, session: SessionDep, request: Request
) -> CallReportPage:
    """The unified history: the same report, only calls the viewer took part in."""
    return CallReportService(session, request.app.state.clock).page(actor, query, own_only=True)


@router.get(
    "/reports/calls/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_calls(
    query: QueryDep, actor: ActorDep, session: SessionDep, request: Request
) -> StreamingResponse:
    """Every matching row as CSV, streamed (cursor and limit are ignored)."""
    return _export(request, session, actor, query, own_only=False)


@router.get(
    "/me/calls/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_my_calls(
    query: QueryDep, actor: ActorDep, session: SessionDep, request: Request
) -> StreamingResponse:
    return _export(request, session, actor, query, own_only=True)


def _export(
    request: Request, session: SessionDep, actor: Actor, query: ReportQuery, *, own_only: bool
) -> StreamingResponse:
    clock = request.app.state.clock
    service = CallReportService(session, clock)
    # Resolved and checked here, so a bad filter is a JSON error, not a broken download.
    filters = service.filters_for(actor, query)
    service.check(actor, filters)
    factory = request.app.state.sessionmaker
    stamp = clock.now().astimezone(parse_tz(filters.tz)).strftime("%Y%m%d-%H%M")

    def body() -> Iterator[str]:
        # The request's session is closed once this function returns; the stream reads
        # through its own, one keyset page at a time.
        with factory() as stream_session:
            pages = CallReportService(stream_session, clock).export(
                actor, filters, own_only=own_only
            )
            yield from csv_chunks(_page_by_page(pages, stream_session), parse_tz(filters.tz))

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calls-{stamp}.csv"'},
    )


def _page_by_page(
    pages: Iterator[list[CallReportRow]], session: Session
) -> Iterator[list[CallReportRow]]:
    """End the read transaction after each page: a slow download must not hold SQLite's
    lock (every transaction takes it) against the writers; keyset pages need no snapshot."""
    for page in pages:
        session.rollback()
        yield page


@router.get("/reports/saved-filters", response_model=list[SavedFilterRead])
def list_saved_filters(
    actor: ActorDep, session: SessionDep, request: Request
) -> list[SavedFilterRead]:
    """Your saved filters and those shared with a team you belong to."""
    return SavedFilterService(session, request.app.state.clock).list(actor)


@router.post(
    "/reports/saved-filters", response_model=SavedFilterRead, status_code=status.HTTP_201_CREATED
)
def create_saved_filter(
    data: SavedFilterCreate, actor: ActorDep, session: SessionDep, request: Request
) -> SavedFilterRead:
    return SavedFilterService(session, request.app.state.clock).create(actor, data)


@router.get("/reports/saved-filters/{filter_id}", response_model=SavedFilterRead)
def get_saved_filter(
    filter_id: uuid.UUID, actor: ActorDep, session: SessionDep, request: Request
) -> SavedFilterRead:
    return SavedFilterService(session, request.app.state.clock).get(actor, filter_id)


@router.patch("/reports/saved-filters/{filter_id}", response_model=SavedFilterRead)
def update_saved_filter(
    filter_id: uuid.UUID,
    data: SavedFilterUpdate,
    actor: ActorDep,
    session: SessionDep,
    request: Request,
) -> SavedFilterRead:
    """Rename, change the filters, share (``shared_team_id``) or stop sharing (``null``)."""
    return SavedFilterService(session, request.app.state.clock).update(actor, filter_id, data)


@router.delete("/reports/saved-filters/{filter_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_saved_filter(
    filter_id: uuid.UUID, actor: ActorDep, session: SessionDep, request: Request
) -> None:
    SavedFilterService(session, request.app.state.clock).delete(actor, filter_id)
