"""Consent queries, scoped to an org: another org's announcement is simply not found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callrec.kit.repository import Repository
from callrec.models import Announcement, ConsentSettings, Device, NoAnswer, Org, Team, User
from callrec.models.consent import DEFAULT_ASK_TIMEOUT_S

_LEVELS: tuple[tuple[str, type[Org | Team | User | Device]], ...] = (
    ("org", Org),
    ("team", Team),
    ("user", User),
    ("device", Device),
)


class AnnouncementRepository(Repository[Announcement]):
    model = Announcement
    label = "announcement"

    def find_in_org(self, org_id: uuid.UUID, announcement_id: uuid.UUID) -> Announcement | None:
        return self.session.scalars(
            self.org_select(org_id).where(Announcement.id == announcement_id)
        ).first()

    def list_by_name(self, org_id: uuid.UUID) -> Sequence[Announcement]:
        query = self.org_select(org_id).order_by(Announcement.name, Announcement.id)
        return self.session.scalars(query).all()

    def name_taken(self, org_id: uuid.UUID, name: str, other_than: uuid.UUID | None = None) -> bool:
        query = select(func.count()).where(Announcement.org_id == org_id, Announcement.name == name)
        if other_than is not None:
            query = query.where(Announcement.id != other_than)
        return self.session.scalar(query) != 0

    def assignments(self, announcement_id: uuid.UUID) -> list[dict[str, str]]:
        """Every settings level naming the announcement, whatever its mode."""
        found: list[dict[str, str]] = []
        for level, model in _LEVELS:
            ids = self.session.scalars(
                select(model.id).where(model.rec_announcement_id == announcement_id)
            ).all()
            found.extend({"level": level, "id": str(i)} for i in ids)
        return found


class ConsentSettingsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, org_id: uuid.UUID) -> ConsentSettings | None:
        return self.session.get(ConsentSettings, org_id)

    def effective(self, org_id: uuid.UUID) -> ConsentSettings:
        """The org's row, or an unsaved one holding the defaults (reading never writes)."""
        row = self.find(org_id)
        if row is not None:
            return row
        return ConsentSettings(
            org_id=org_id,
            ask_prompt_text=None,
            prompt_voice=None,
            ask_timeout_s=DEFAULT_ASK_TIMEOUT_S,
            no_answer=NoAnswer.RECORD,
        )

    def get_or_create(self, org_id: uuid.UUID) -> ConsentSettings:
        row = self.find(org_id)
        if row is None:
            row = ConsentSettings(org_id=org_id)
            self.session.add(row)
            self.session.flush()
        return row
