"""Call history queries, always scoped to an org."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from callrec.kit.errors import NotFound
from callrec.kit.repository import Repository
from callrec.models import (
    Call,
    Participant,
    Recording,
    RecordingState,
    SavedReportFilter,
    Segment,
    User,
    call_teams,
)


class CallRepository(Repository[Call]):
    model = Call
    label = "call"

    def _full(self, org_id: uuid.UUID) -> Select[Call]:
        return self.org_select(org_id).options(
            selectinload(Call.segments), selectinload(Call.participants), selectinload(Call.teams)
        )

    def by_external_id(self, org_id: uuid.UUID, external_id: str) -> Call | None:
        return self.session.scalars(
            self._full(org_id).where(Call.external_id == external_id)
        ).first()

    def get_full(self, org_id: uuid.UUID, call_id: uuid.UUID) -> Call:
        call = self.session.scalars(self._full(org_id).where(Call.id == call_id)).first()
        if call is None:
            raise NotFound(f"call {call_id} not found", details={"id": str(call_id)})
        return call

    def segment(self, org_id: uuid.UUID, call_id: uuid.UUID, sequence: int) -> Segment:
        segment = self.session.scalars(
            select(Segment).where(
                Segment.org_id == org_id, Segment.call_id == call_id, Segment.sequence == sequence
            )
        ).first()
        if segment is None:
            raise NotFound(
                f"call {call_id} has no segment {sequence}",
                details={"call_id": str(call_id), "sequence": sequence},
            )
        return segment


class CallReportRepository:
    """The call-list report's reads: one page (a statement from ``calls.report``), then what
    its rows show, fetched for the whole page at once (three queries, not three per row)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rows(self, stmt: Select[Any]) -> Sequence[Row[Any]]:
        return self.session.execute(stmt).all()

    def people(self, call_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
        """Our users on each call, (id, current display name), in joining order."""
        out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
        if not call_ids:
            return out
        stmt = (
            select(Participant.call_id, Participant.user_id, User.display_name)
            .join(User, User.id == Participant.user_id)
            .where(Participant.call_id.in_(call_ids))
            .order_by(Participant.call_id, Participant.joined_at, Participant.id)
        )
        for call_id, user_id, name in self.session.execute(stmt):
            if user_id is not None and all(uid != user_id for uid, _ in out[call_id]):
                out[call_id].append((user_id, name))
        return out

    def teams(self, call_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        out: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        if not call_ids:
            return out
        stmt = select(call_teams.c.call_id, call_teams.c.team_id).where(
            call_teams.c.call_id.in_(call_ids)
        )
        for call_id, team_id in self.session.execute(stmt):
            out[call_id].append(team_id)
        return out

    def ready_recordings(self, call_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not call_ids:
            return {}
        stmt = (
            select(Recording.call_id, func.count())
            .where(Recording.call_id.in_(call_ids), Recording.state == RecordingState.READY)
            .group_by(Recording.call_id)
        )
        return {call_id: int(n) for call_id, n in self.session.execute(stmt)}


class SavedFilterRepository(Repository[SavedReportFilter]):
    model = SavedReportFilter
    label = "saved filter"

    def visible_to(
        self, org_id: uuid.UUID, user_id: uuid.UUID, team_ids: frozenset[uuid.UUID]
    ) -> Sequence[SavedReportFilter]:
        """The user's own filters and those shared with any team they belong to."""
        shared = SavedReportFilter.shared_team_id.in_(sorted(team_ids)) if team_ids else None
        owner = SavedReportFilter.owner_id == user_id
        stmt = self.org_select(org_id).where(or_(owner, shared) if shared is not None else owner)
        return self.session.scalars(
            stmt.order_by(SavedReportFilter.name, SavedReportFilter.id)
        ).all()

    def by_name(self, owner_id: uuid.UUID, name: str) -> SavedReportFilter | None:
        return self.session.scalars(
            select(SavedReportFilter).where(
                SavedReportFilter.owner_id == owner_id, SavedReportFilter.name == name
            )
        ).first()
