"""Directory queries. Every lookup is scoped to an org: another org's id is simply not found."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from callrec.access.rules import Role
from callrec.kit.errors import NotFound
from callrec.kit.repository import Repository
from callrec.models import Device, Org, Team, User, team_members


class OrgRepository(Repository[Org]):
    model = Org
    label = "org"

    def get(self, org_id: uuid.UUID) -> Org:
        org = self.session.get(Org, org_id)
        if org is None:
            raise NotFound(f"org {org_id} not found", details={"id": str(org_id)})
        return org

    def get_for_update(self, org_id: uuid.UUID) -> Org:
        """Locks the org row (PostgreSQL) so concurrent licence assignments serialise."""
        org = self.session.scalars(select(Org).where(Org.id == org_id).with_for_update()).first()
        if org is None:
            raise NotFound(f"org {org_id} not found", details={"id": str(org_id)})
        return org

    def all(self) -> Sequence[Org]:
        return self.session.scalars(select(Org).order_by(Org.id)).all()

    def slug_taken(self, slug: str) -> bool:
        return self.session.scalar(select(func.count()).where(Org.slug == slug)) != 0

    def licences_assigned(self, org_id: uuid.UUID) -> int:
        count = self.session.scalar(
            select(func.count()).where(User.org_id == org_id, User.has_licence.is_(True))
        )
        return int(count or 0)


class TeamRepository(Repository[Team]):
    model = Team
    label = "team"

    def many_in_org(self, org_id: uuid.UUID, team_ids: Iterable[uuid.UUID]) -> list[Team]:
        wanted = set(team_ids)
        if not wanted:
            return []
        teams = list(
            self.session.scalars(
                select(Team).where(Team.org_id == org_id, Team.id.in_(wanted))
            ).all()
        )
        missing = wanted - {t.id for t in teams}
        if missing:
            raise NotFound("team not found", details={"ids": sorted(str(i) for i in missing)})
        return teams

    def name_taken(self, org_id: uuid.UUID, name: str, except_id: uuid.UUID | None = None) -> bool:
        query = select(func.count()).where(Team.org_id == org_id, Team.name == name)
        if except_id is not None:
            query = query.where(Team.id != except_id)
        return self.session.scalar(query) != 0


class UserRepository(Repository[User]):
    model = User
    label = "user"

    def _with_teams(self, org_id: uuid.UUID) -> Select[User]:
        return self.org_select(org_id).options(
            selectinload(User.member_teams), selectinload(User.managed_teams)
        )

    def get_full(self, org_id: uuid.UUID, user_id: uuid.UUID) -> User:
        user = self.session.scalars(self._with_teams(org_id).where(User.id == user_id)).first()
        if user is None:
            raise NotFound(f"user {user_id} not found", details={"id": str(user_id)})
        return user

    def list_full(self, org_id: uuid.UUID) -> Sequence[User]:
        return self.session.scalars(self._with_teams(org_id).order_by(User.id)).all()

    def email_taken(self, email: str) -> bool:
        query = select(func.count()).where(func.lower(User.email) == email.lower())
        return self.session.scalar(query) != 0

    def extension_taken(
        self, org_id: uuid.UUID, extension: str, except_id: uuid.UUID | None = None
    ) -> bool:
        query = select(func.count()).where(User.org_id == org_id, User.extension == extension)
        if except_id is not None:
            query = query.where(User.id != except_id)
        return self.session.scalar(query) != 0

    def count_admins(self, org_id: uuid.UUID) -> int:
        query = select(func.count()).where(
            User.org_id == org_id, User.role == Role.ORG_ADMIN, User.is_active.is_(True)
        )
        return int(self.session.scalar(query) or 0)

    def by_extension(self, org_id: uuid.UUID, extension: str) -> User | None:
        return self.session.scalars(
            self.org_select(org_id).where(User.extension == extension)
        ).first()


class DeviceRepository(Repository[Device]):
    model = Device
    label = "device"

    def of_users(self, org_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> Sequence[Device]:
        return self.session.scalars(
            self.org_select(org_id).where(Device.user_id.in_(set(user_ids))).order_by(Device.id)
        ).all()

    def by_aor(self, org_id: uuid.UUID, aor: str) -> Device | None:
        return self.session.scalars(self.org_select(org_id).where(Device.aor == aor)).first()

    def by_extension(self, org_id: uuid.UUID, extension: str) -> Device | None:
        return self.session.scalars(
            self.org_select(org_id).where(Device.extension == extension)
        ).first()

    def taken(
        self, org_id: uuid.UUID, column: str, value: str, except_id: uuid.UUID | None = None
    ) -> bool:
        query = select(func.count()).where(
            Device.org_id == org_id, getattr(Device, column) == value
        )
        if except_id is not None:
            query = query.where(Device.id != except_id)
        return self.session.scalar(query) != 0


@dataclass(frozen=True, slots=True)
class Reached:
    """The rows a recording decision reads: the device and user a call reached (or neither),
    the user's primary team, the org, and the user's teams for the access check."""

    org: Org
    device: Device | None = None
    user: User | None = None
    team: Team | None = None
    user_team_ids: frozenset[uuid.UUID] = frozenset()


class PolicyRepository:
    """Loads a decision's rows in two round trips: one join, one membership lookup."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_device(self, org_id: uuid.UUID, condition: ColumnElement[bool]) -> Reached | None:
        row = self.session.execute(
            select(Device, User, Team, Org)
            .join(User, User.id == Device.user_id)
            .outerjoin(Team, Team.id == User.primary_team_id)
            .join(Org, Org.id == Device.org_id)
            .where(Device.org_id == org_id, condition)
        ).first()
        if row is None:
            return None
        device, user, team, org = row
        return Reached(org, device, user, team, self._team_ids(user))

    def by_user(self, org_id: uuid.UUID, condition: ColumnElement[bool]) -> Reached | None:
        row = self.session.execute(
            select(User, Team, Org)
            .outerjoin(Team, Team.id == User.primary_team_id)
            .join(Org, Org.id == User.org_id)
            .where(User.org_id == org_id, condition)
        ).first()
        if row is None:
            return None
        user, team, org = row
        return Reached(org, None, user, team, self._team_ids(user))

    def org_only(self, org_id: uuid.UUID) -> Reached:
        return Reached(OrgRepository(self.session).get(org_id))

    def _team_ids(self, user: User) -> frozenset[uuid.UUID]:
        ids = set(
            self.session.scalars(
                select(team_members.c.team_id).where(team_members.c.user_id == user.id)
            )
        )
        if user.primary_team_id is not None:
            ids.add(user.primary_team_id)
        return frozenset(ids)
