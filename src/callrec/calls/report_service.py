"""Call-list reports and saved filters. Never commits (the request edge does)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.rules import Actor, CallFacts, can_play, can_share_report_filter
from callrec.calls.report import ReportRequest, disposition_of, duration_of, report_select
from callrec.calls.report_cursor import Cursor, decode_cursor, encode_cursor
from callrec.calls.report_schemas import (
    CallReportPage,
    CallReportRow,
    ReportFilters,
    ReportQuery,
    ReportUser,
    SavedFilterCreate,
    SavedFilterRead,
    SavedFilterUpdate,
)
from callrec.calls.repository import CallReportRepository, SavedFilterRepository
from callrec.directory.repository import TeamRepository
from callrec.kit.clock import Clock
from callrec.kit.errors import Conflict, Forbidden, NotFound
from callrec.models import SavedReportFilter

EXPORT_PAGE_ROWS = 1000


class CallReportService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.repo = CallReportRepository(session)
        self.saved = SavedFilterService(session, clock)

    def filters_for(self, actor: Actor, query: ReportQuery) -> ReportFilters:
        saved = None
        if query.saved_filter_id is not None:
            saved = self.saved.get_model(actor, query.saved_filter_id).filters
        return query.resolve(saved)

    def page(self, actor: Actor, query: ReportQuery, *, own_only: bool = False) -> CallReportPage:
        filters = self.filters_for(actor, query)
        cursor = decode_cursor(query.cursor, filters.sort, filters.order) if query.cursor else None
        request = ReportRequest(actor, filters, self.clock.now(), own_only)
        items, next_cursor = self._page(request, cursor, query.limit)
        return CallReportPage(
            items=items,
            next_cursor=encode_cursor(next_cursor) if next_cursor else None,
            sort=filters.sort,
            order=filters.order,
            limit=query.limit,
        )

    def check(self, actor: Actor, filters: ReportFilters) -> None:
        """Refuse filters the actor may not use before anything is sent (builds, runs nothing)."""
        report_select(ReportRequest(actor, filters, self.clock.now()), None, 1)

    def export(
        self, actor: Actor, filters: ReportFilters, *, own_only: bool = False
    ) -> Iterator[list[CallReportRow]]:
        """Every matching row, a keyset page at a time: memory stays one page whatever the
        size. "Today" and the other relative filters are fixed when the export starts."""
        request = ReportRequest(actor, filters, self.clock.now(), own_only)
        cursor: Cursor | None = None
        while True:
            items, cursor = self._page(request, cursor, EXPORT_PAGE_ROWS)
            if items:
                yield items
            if cursor is None:
                return

    def _page(
        self, request: ReportRequest, cursor: Cursor | None, limit: int
    ) -> tuple[list[CallReportRow], Cursor | None]:
        rows = list(self.repo.rows(report_select(request, cursor, limit)))
        more = len(rows) > limit
        rows = rows[:limit]
        items = self._rows(request.actor, rows)
        if not more:
            return items, None
        last = rows[-1]
        filters = request.filters
        return items, Cursor(filters.sort, filters.order, last.sort_key, last.id)

    def _rows(self, actor: Actor, rows: Sequence[Row[Any]]) -> list[CallReportRow]:
        details = self.repo.details([row.id for row in rows])
        out = []
        for row in rows:
            users = details.people.get(row.id, [])
            team_ids = sorted(details.teams.get(row.id, []))
            facts = CallFacts(
                org_id=actor.org_id,  # the statement only returns the actor's org
                participant_user_ids=frozenset(uid for uid, _ in users),
                team_ids=frozenset(team_ids),
            )
            # The per-recording rule of playback itself, so the icon never promises more.
            playable = details.ready.get(row.id, 0) if can_play(actor, facts) is True else 0
            out.append(
                CallReportRow(
                    id=row.id,
                    external_id=row.external_id,
                    direction=row.direction,
                    from_number=row.from_number,
                    to_number=row.to_number,
                    started_at=row.started_at,
                    answered_at=row.answered_at,
                    ended_at=row.ended_at,
                    duration_s=duration_of(row.started_at, row.ended_at),
                    disposition=disposition_of(row.started_at, row.answered_at, row.ended_at),
                    users=[ReportUser(id=uid, name=name) for uid, name in users],
                    team_ids=team_ids,
                    playable_recordings=playable,
                    has_playable_recording=playable > 0,
                )
            )
        return out


class SavedFilterService:
    """A user's named report filters; shared with one team, its members may run them."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.repo = SavedFilterRepository(session)
        self.teams = TeamRepository(session)

    def list(self, actor: Actor) -> list[SavedFilterRead]:
        found = self.repo.visible_to(actor.org_id, actor.user_id, _teams_of(actor))
        return [self.read(actor, f) for f in found]

    def get(self, actor: Actor, filter_id: uuid.UUID) -> SavedFilterRead:
        return self.read(actor, self.get_model(actor, filter_id))

    def get_model(self, actor: Actor, filter_id: uuid.UUID) -> SavedReportFilter:
        """Someone else's unshared filter is as absent as a missing one (404)."""
        saved = self.repo.get_in_org(actor.org_id, filter_id)
        if saved.owner_id != actor.user_id and saved.shared_team_id not in _teams_of(actor):
            raise NotFound(f"saved filter {filter_id} not found", details={"id": str(filter_id)})
        return saved

    def create(self, actor: Actor, data: SavedFilterCreate) -> SavedFilterRead:
        self._name_free(actor, data.name)
        if data.shared_team_id is not None:
            self._may_share(actor, data.shared_team_id)
        now = self.clock.now()
        saved = SavedReportFilter(
            org_id=actor.org_id,
            owner_id=actor.user_id,
            name=data.name,
            filters=data.filters.model_dump(mode="json", exclude_defaults=True),
            shared_team_id=data.shared_team_id,
            created_at=now,
            updated_at=now,
        )
        self.repo.add(saved)
        return self.read(actor, saved)

    def update(
        self, actor: Actor, filter_id: uuid.UUID, data: SavedFilterUpdate
    ) -> SavedFilterRead:
        saved = self._owned(actor, filter_id)
        given = data.model_fields_set
        if "name" in given and data.name is not None and data.name != saved.name:
            self._name_free(actor, data.name)
            saved.name = data.name
        if "filters" in given and data.filters is not None:
            saved.filters = data.filters.model_dump(mode="json", exclude_defaults=True)
        if "shared_team_id" in given:
            if data.shared_team_id is not None:
                self._may_share(actor, data.shared_team_id)
            saved.shared_team_id = data.shared_team_id
        saved.updated_at = self.clock.now()
        self.session.flush()
        return self.read(actor, saved)

    def delete(self, actor: Actor, filter_id: uuid.UUID) -> None:
        self.repo.delete(self._owned(actor, filter_id))

    def read(self, actor: Actor, saved: SavedReportFilter) -> SavedFilterRead:
        return SavedFilterRead(
            id=saved.id,
            owner_id=saved.owner_id,
            name=saved.name,
            filters=ReportFilters.model_validate(saved.filters),
            shared_team_id=saved.shared_team_id,
            mine=saved.owner_id == actor.user_id,
            created_at=saved.created_at,
            updated_at=saved.updated_at,
        )

    def _owned(self, actor: Actor, filter_id: uuid.UUID) -> SavedReportFilter:
        saved = self.get_model(actor, filter_id)
        if saved.owner_id != actor.user_id:
            raise Forbidden("this filter is shared with your team; only its owner may change it")
        return saved

    def _name_free(self, actor: Actor, name: str) -> None:
        if self.repo.by_name(actor.user_id, name) is not None:
            raise Conflict(
                f"you already have a saved filter named {name!r}", details={"name": name}
            )

    def _may_share(self, actor: Actor, team_id: uuid.UUID) -> None:
        team = self.teams.get_in_org(actor.org_id, team_id)
        require(can_share_report_filter(actor, team.id, team.org_id))


def _teams_of(actor: Actor) -> frozenset[uuid.UUID]:
    primary = {actor.primary_team_id} if actor.primary_team_id else set()
    return actor.member_team_ids | primary
