"""Directory use cases: orgs, teams, users, devices, licences. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.passwords import hash_password
from callrec.access.rules import (
    Actor,
    Role,
    SubjectUser,
    can_administer_directory,
    can_manage_orgs,
    can_view_user_settings,
)
from callrec.audit.service import AuditAction, AuditLog
from callrec.audit.service import changes as field_changes
from callrec.directory import schemas as s
from callrec.directory.repository import (
    DeviceRepository,
    OrgRepository,
    TeamRepository,
    UserRepository,
)
from callrec.kit.errors import Conflict, LicenceLimitExceeded, NotFound, Unprocessable
from callrec.models import Device, Org, Team, User


def require_free_extension(
    session: Session,
    org_id: uuid.UUID,
    extension: str,
    *,
    user_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
) -> None:
    """Users and devices dial from one extension plan: a number reaches one of them only."""
    if UserRepository(session).extension_taken(org_id, extension, user_id):
        taken_by = "user"
    elif DeviceRepository(session).taken(org_id, "extension", extension, device_id):
        taken_by = "device"
    else:
        return
    raise Conflict(
        f"extension {extension} is taken by a {taken_by}",
        details={"extension": extension, "taken_by": taken_by},
    )


def subject_of(user: User) -> SubjectUser:
    """The access-rule view of a user; needs ``member_teams`` loaded."""
    teams = {t.id for t in user.member_teams}
    if user.primary_team_id is not None:
        teams.add(user.primary_team_id)
    return SubjectUser(user_id=user.id, org_id=user.org_id, team_ids=frozenset(teams))


def access_of(user: User) -> dict[str, Any]:
    """What a user may do: the fields a permission-change audit event shows before and after;
    needs ``member_teams`` and ``managed_teams`` loaded."""
    return {
        "role": user.role,
        "is_active": user.is_active,
        "is_platform_admin": user.is_platform_admin,
        "has_licence": user.has_licence,
        "management_scope": user.management_scope,
        "playback_scope": user.playback_scope,
        "primary_team_id": None if user.primary_team_id is None else str(user.primary_team_id),
        "member_team_ids": sorted(str(t.id) for t in user.member_teams),
        "managed_team_ids": sorted(str(t.id) for t in user.managed_teams),
    }


def audit_access(
    session: Session,
    actor: Actor | None,
    user: User,
    change: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    diff = field_changes(before, after)
    if diff:
        AuditLog.of(session).append(
            AuditAction.PERMISSION_CHANGED,
            org_id=user.org_id,
            actor_id=None if actor is None else actor.user_id,
            subject=f"user:{user.id}",
            details={"change": change, "email": user.email, "changes": diff},
        )


class OrgService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.orgs = OrgRepository(session)

    def create(self, actor: Actor | None, data: s.OrgCreate) -> Org:
        """``actor`` is None for the CLI, which runs with the operator's authority."""
        if actor is not None:
            require(can_manage_orgs(actor))
        if self.orgs.slug_taken(data.slug):
            raise Conflict(f"an org with slug '{data.slug}' exists", details={"slug": data.slug})
        return self.orgs.add(Org(**data.model_dump()))

    def list(self, actor: Actor) -> Sequence[Org]:
        if can_manage_orgs(actor) is True:
            return self.orgs.all()
        return [self.orgs.get(actor.org_id)]

    def get(self, actor: Actor, org_id: uuid.UUID) -> Org:
        if org_id != actor.org_id and can_manage_orgs(actor) is not True:
            # Another tenant's org is "not found", never "forbidden": do not confirm it exists.
            raise NotFound(f"org {org_id} not found", details={"id": str(org_id)})
        return self.orgs.get(org_id)

    def update(self, actor: Actor, org_id: uuid.UUID, data: s.OrgUpdate) -> Org:
        require(can_manage_orgs(actor))
        org = self.orgs.get_for_update(org_id)
        before = org.licences_purchased
        if data.licences_purchased is not None:
            assigned = self.orgs.licences_assigned(org_id)
            if data.licences_purchased < assigned:
                raise LicenceLimitExceeded(
                    f"{assigned} licences are assigned; unassign some before reducing to "
                    f"{data.licences_purchased}",
                    details={"assigned": assigned, "requested": data.licences_purchased},
                )
            org.licences_purchased = data.licences_purchased
        if data.name is not None:
            org.name = data.name
        if org.licences_purchased != before:
            AuditLog.of(self.session).append(
                AuditAction.PERMISSION_CHANGED,
                org_id=org.id,
                actor_id=actor.user_id,
                subject=f"org:{org.id}",
                details={
                    "change": "licences",
                    "changes": field_changes(
                        {"licences_purchased": before},
                        {"licences_purchased": org.licences_purchased},
                    ),
                },
            )
        return org

    def licences_assigned(self, org_id: uuid.UUID) -> int:
        return self.orgs.licences_assigned(org_id)


class TeamService:
    def __init__(self, session: Session) -> None:
        self.teams = TeamRepository(session)

    def list(self, actor: Actor) -> Sequence[Team]:
        return self.teams.list_in_org(actor.org_id)

    def get(self, actor: Actor, team_id: uuid.UUID) -> Team:
        return self.teams.get_in_org(actor.org_id, team_id)

    def create(self, actor: Actor | None, org_id: uuid.UUID, data: s.TeamCreate) -> Team:
        if actor is not None:
            require(can_administer_directory(actor, org_id))
        self._name_free(org_id, data.name, None)
        return self.teams.add(Team(org_id=org_id, name=data.name))

    def update(self, actor: Actor, team_id: uuid.UUID, data: s.TeamUpdate) -> Team:
        team = self.teams.get_in_org(actor.org_id, team_id)
        require(can_administer_directory(actor, actor.org_id))
        if data.name is not None:
            self._name_free(actor.org_id, data.name, team.id)
            team.name = data.name
        return team

    def delete(self, actor: Actor, team_id: uuid.UUID) -> None:
        team = self.teams.get_in_org(actor.org_id, team_id)
        require(can_administer_directory(actor, actor.org_id))
        self.teams.delete(team)
        # Its members and managers lose what the team gave them.
        AuditLog.of(self.teams.session).append(
            AuditAction.PERMISSION_CHANGED,
            org_id=actor.org_id,
            actor_id=actor.user_id,
            subject=f"team:{team.id}",
            details={"change": "team_deleted", "name": team.name},
        )

    def _name_free(self, org_id: uuid.UUID, name: str, except_id: uuid.UUID | None) -> None:
        if self.teams.name_taken(org_id, name, except_id):
            raise Conflict(f"a team named '{name}' exists", details={"name": name})


class UserService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.teams = TeamRepository(session)
        self.orgs = OrgRepository(session)

    def list(self, actor: Actor) -> list[User]:
        users = self.users.list_full(actor.org_id)
        return [u for u in users if can_view_user_settings(actor, subject_of(u)) is True]

    def get(self, actor: Actor, user_id: uuid.UUID) -> User:
        user = self.users.get_full(actor.org_id, user_id)
        require(can_view_user_settings(actor, subject_of(user)))
        return user

    def get_self(self, org_id: uuid.UUID, user_id: uuid.UUID) -> User:
        return self.users.get_full(org_id, user_id)

    def create(self, actor: Actor | None, org_id: uuid.UUID, data: s.UserCreate) -> User:
        if actor is not None:
            require(can_administer_directory(actor, org_id))
        if self.users.email_taken(data.email):
            raise Conflict(f"email {data.email} is taken", details={"email": data.email})
        if data.extension:
            require_free_extension(self.session, org_id, data.extension)
        user = User(
            org_id=org_id,
            email=data.email,
            display_name=data.display_name,
            extension=data.extension,
            password_hash=hash_password(data.password) if data.password else None,
            role=data.role,
            management_scope=data.management_scope,
            playback_scope=data.playback_scope,
            member_teams=[],
            managed_teams=[],
        )
        self._set_teams(user, data.primary_team_id, data.member_team_ids, data.managed_team_ids)
        if data.has_licence:
            self._assign_licence(org_id)
            user.has_licence = True
        self.users.add(user)
        audit_access(self.session, actor, user, "created", {}, access_of(user))
        return user

    def update(self, actor: Actor, user_id: uuid.UUID, data: s.UserUpdate) -> User:
        user = self.users.get_full(actor.org_id, user_id)
        before = access_of(user)
        changes = data.model_dump(exclude_unset=True)
        if set(changes) - {"display_name", "password"} or user.id != actor.user_id:
            require(can_administer_directory(actor, actor.org_id))
        if data.extension is not None:
            require_free_extension(self.session, actor.org_id, data.extension, user_id=user.id)
        if data.has_licence is True and not user.has_licence:
            self._assign_licence(actor.org_id)
        if "role" in changes or data.is_active is False:
            self._keep_an_admin(user, data)
        for field in (
            "display_name",
            "extension",
            "role",
            "is_active",
            "has_licence",
            "management_scope",
            "playback_scope",
        ):
            if field in changes and (changes[field] is not None or field == "extension"):
                setattr(user, field, changes[field])
        if data.password is not None:
            user.password_hash = hash_password(data.password)
        if {"primary_team_id", "member_team_ids", "managed_team_ids"} & set(changes):
            self._set_teams(
                user,
                changes.get("primary_team_id", user.primary_team_id),
                changes.get("member_team_ids", [t.id for t in user.member_teams]) or [],
                changes.get("managed_team_ids", [t.id for t in user.managed_teams]) or [],
            )
        self.session.flush()
        audit_access(self.session, actor, user, "updated", before, access_of(user))
        if data.password is not None:
            AuditLog.of(self.session).append(
                AuditAction.PASSWORD_CHANGED,
                org_id=user.org_id,
                actor_id=actor.user_id,
                subject=f"user:{user.id}",
                details={"email": user.email},
            )
        return user

    def delete(self, actor: Actor, user_id: uuid.UUID) -> None:
        user = self.users.get_full(actor.org_id, user_id)
        require(can_administer_directory(actor, actor.org_id))
        if user.id == actor.user_id:
            raise Conflict("you cannot delete your own account")
        before = access_of(user)
        self.users.delete(user)
        audit_access(self.session, actor, user, "deleted", before, {})

    def _set_teams(
        self,
        user: User,
        primary: uuid.UUID | None,
        members: Sequence[uuid.UUID],
        managed: Sequence[uuid.UUID],
    ) -> None:
        member_ids = set(members) | ({primary} if primary else set())
        user.member_teams = self.teams.many_in_org(user.org_id, member_ids)
        user.managed_teams = self.teams.many_in_org(user.org_id, managed)
        user.primary_team_id = primary

    def _assign_licence(self, org_id: uuid.UUID) -> None:
        org = self.orgs.get_for_update(org_id)
        assigned = self.orgs.licences_assigned(org_id)
        if assigned >= org.licences_purchased:
            raise LicenceLimitExceeded(
                f"all {org.licences_purchased} call recording licences are assigned; "
                "buy more or unassign one first",
                details={"purchased": org.licences_purchased, "assigned": assigned},
            )

    def _keep_an_admin(self, user: User, data: s.UserUpdate) -> None:
        # Only an active admin counts: demoting an inactive one changes nothing.
        losing = (
            user.role is Role.ORG_ADMIN
            and user.is_active
            and (
                (data.role is not None and data.role is not Role.ORG_ADMIN)
                or data.is_active is False
            )
        )
        if losing and self.users.count_admins(user.org_id) <= 1:
            raise Conflict("the org must keep at least one active org admin")


class DeviceService:
    def __init__(self, session: Session) -> None:
        self.devices = DeviceRepository(session)
        self.users = UserRepository(session)

    def list(self, actor: Actor) -> Sequence[Device]:
        visible = UserService(self.users.session).list(actor)
        return self.devices.of_users(actor.org_id, [u.id for u in visible])

    def get(self, actor: Actor, device_id: uuid.UUID) -> Device:
        device = self.devices.get_in_org(actor.org_id, device_id)
        owner = self.users.get_full(actor.org_id, device.user_id)
        require(can_view_user_settings(actor, subject_of(owner)))
        return device

    def create(self, actor: Actor | None, org_id: uuid.UUID, data: s.DeviceCreate) -> Device:
        if actor is not None:
            require(can_administer_directory(actor, org_id))
        self.users.get_in_org(org_id, data.user_id)
        self._unique(org_id, data.aor, data.extension, None)
        return self.devices.add(Device(org_id=org_id, **data.model_dump()))

    def update(self, actor: Actor, device_id: uuid.UUID, data: s.DeviceUpdate) -> Device:
        device = self.devices.get_in_org(actor.org_id, device_id)
        require(can_administer_directory(actor, actor.org_id))
        changes = data.model_dump(exclude_unset=True)
        if changes.get("user_id") is not None:
            self.users.get_in_org(actor.org_id, changes["user_id"])
        self._unique(actor.org_id, changes.get("aor"), changes.get("extension"), device.id)
        for field, value in changes.items():
            if value is None and field != "extension":
                raise Unprocessable(f"{field} cannot be null", details={"field": field})
            setattr(device, field, value)
        self.devices.session.flush()
        return device

    def delete(self, actor: Actor, device_id: uuid.UUID) -> None:
        device = self.devices.get_in_org(actor.org_id, device_id)
        require(can_administer_directory(actor, actor.org_id))
        self.devices.delete(device)

    def _unique(
        self, org_id: uuid.UUID, aor: str | None, ext: str | None, except_id: uuid.UUID | None
    ) -> None:
        if aor and self.devices.taken(org_id, "aor", aor, except_id):
            raise Conflict(f"a device with AOR {aor} exists", details={"aor": aor})
        if ext:
            require_free_extension(self.devices.session, org_id, ext, device_id=except_id)
