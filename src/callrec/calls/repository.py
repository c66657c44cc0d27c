"""Call history queries, always scoped to an org."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from callrec.kit.errors import NotFound
from callrec.kit.repository import Repository
from callrec.models import Call, Segment


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
