"""Recording queries. Claims are conditional UPDATEs so two workers never process one
recording at the same time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update

from callrec.kit.repository import Repository
from callrec.models import Recording, RecordingState

S = RecordingState


class RecordingRepository(Repository[Recording]):
    model = Recording
    label = "recording"

    def by_segment(self, segment_id: uuid.UUID) -> Recording | None:
        return self.session.scalars(
            select(Recording).where(Recording.segment_id == segment_id)
        ).first()

    def claim(self, recording_id: uuid.UUID, now: datetime, lease_until: datetime) -> bool:
        """captured, or processing with an expired lease (its worker died) → processing."""
        result = self.session.execute(
            update(Recording)
            .where(
                Recording.id == recording_id,
                or_(
                    Recording.state == S.CAPTURED,
                    (Recording.state == S.PROCESSING) & (Recording.lease_until < now),
                ),
            )
            .values(
                state=S.PROCESSING,
                processing_at=now,
                lease_until=lease_until,
                attempts=Recording.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def stuck(self, now: datetime, captured_before: datetime) -> Sequence[uuid.UUID]:
        """Recordings whose job was lost: captured a while ago, or processing past the lease."""
        return self.session.scalars(
            select(Recording.id).where(
                or_(
                    (Recording.state == S.CAPTURED) & (Recording.captured_at < captured_before),
                    (Recording.state == S.PROCESSING) & (Recording.lease_until < now),
                )
            )
        ).all()

    def overdue(self, now: datetime) -> Sequence[Recording]:
        return self.session.scalars(
            select(Recording).where(
                Recording.state.in_([S.CAPTURING, S.CAPTURED, S.PROCESSING]),
                Recording.sla_deadline < now,
                Recording.sla_breached.is_(False),
            )
        ).all()

    def failed_ids(self, org_id: uuid.UUID | None = None) -> Sequence[uuid.UUID]:
        query = select(Recording.id).where(Recording.state == S.FAILED)
        if org_id is not None:
            query = query.where(Recording.org_id == org_id)
        return self.session.scalars(query.order_by(Recording.id)).all()

    def count_by_state(self) -> dict[str, int]:
        rows = self.session.execute(
            select(Recording.state, func.count()).group_by(Recording.state)
        ).all()
        return {str(state): int(n) for state, n in rows}

    def count_breached(self) -> int:
        return int(
            self.session.scalar(select(func.count()).where(Recording.sla_breached.is_(True))) or 0
        )

    def all_stored(self) -> Sequence[Recording]:
        return self.session.scalars(
            select(Recording).where(Recording.state == S.READY).order_by(Recording.id)
        ).all()
