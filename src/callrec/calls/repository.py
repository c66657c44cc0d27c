"""Call history queries, always scoped to an org."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, literal_column, null, or_, select, union_all
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
    its rows show, fetched for the whole page at once (one query, not three per row)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rows(self, stmt: Select[Any]) -> Sequence[Row[Any]]:
        # Core execution: plain columns need none of the ORM's result machinery.
        return self.session.connection().execute(stmt).all()

    def details(self, call_ids: Sequence[uuid.UUID]) -> PageDetails:
        """Our users on each call (id, current display name, in joining order), its team tags
        and its number of ready recordings, for a whole page in one statement."""
        details = PageDetails()
        if not call_ids:
            return details
        people: Any = (
            select(
                literal_column("'u'").label("kind"),
                Participant.call_id,
                Participant.user_id.label("ref"),
                User.display_name.label("name"),
                Participant.joined_at.label("at"),
            )
            .join(User, User.id == Participant.user_id)
            .where(Participant.call_id.in_(call_ids))
        )
        teams: Any = select(
            literal_column("'t'"), call_teams.c.call_id, call_teams.c.team_id, null(), null()
        ).where(call_teams.c.call_id.in_(call_ids))
        ready: Any = select(
            literal_column("'r'"), Recording.call_id, Recording.id, null(), null()
        ).where(Recording.call_id.in_(call_ids), Recording.state == RecordingState.READY)
        rows = self.session.connection().execute(union_all(people, teams, ready)).all()
        for kind, call_id, ref, name, _at in sorted(rows, key=_by_join_time):
            if kind == "u":
                listed = details.people[call_id]
                if all(uid != ref for uid, _ in listed):
                    listed.append((ref, name))
            elif kind == "t":
                details.teams[call_id].append(ref)
            else:
                details.ready[call_id] += 1
        return details


def _by_join_time(row: Row[Any]) -> tuple[str, datetime]:
    return (row.kind, row.at or _EPOCH)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class PageDetails:
    people: defaultdict[uuid.UUID, list[tuple[uuid.UUID, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    teams: defaultdict[uuid.UUID, list[uuid.UUID]] = field(
        default_factory=lambda: defaultdict(list)
    )
    ready: defaultdict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))


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
