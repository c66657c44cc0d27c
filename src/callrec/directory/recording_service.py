"""Recording settings at the four levels, and the policy decision over stored settings.

Loads plain data, hands it to the pure ``callrec.policy.decide``. Never commits.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.rules import (
    Actor,
    Permission,
    SubjectUser,
    can_change_compliance,
    can_change_device_settings,
    can_change_org_settings,
    can_change_team_settings,
    can_change_user_settings,
    can_view_device_settings,
    can_view_org_settings,
    can_view_team_settings,
    can_view_user_settings,
)
from callrec.audit.service import AuditAction, AuditLog
from callrec.audit.service import changes as field_changes
from callrec.consent.repository import AnnouncementRepository
from callrec.directory.recording_schemas import SettingsRead, SettingsUpdate, Target, WhatIfRequest
from callrec.directory.repository import (
    DeviceRepository,
    OrgRepository,
    PolicyRepository,
    Reached,
    TeamRepository,
    UserRepository,
)
from callrec.directory.service import subject_of
from callrec.kit.errors import NotFound, Unprocessable
from callrec.models import Device, Org, Team, User
from callrec.models.settings import RecordingSettingsMixin
from callrec.policy import (
    AnnouncementMode,
    BeepMode,
    CallContext,
    Decision,
    Direction,
    Level,
    LevelSettings,
    decide,
)

_COMPLIANCE_FIELDS = frozenset({"beep", "beep_interval_s"})
_Leveled = Org | Team | User | Device


def settings_read(level: Level, row: RecordingSettingsMixin) -> SettingsRead:
    return SettingsRead(
        level=level,
        incoming=row.rec_incoming,
        outgoing=row.rec_outgoing,
        outgoing_mode=row.rec_outgoing_mode,
        beep=row.rec_beep,
        beep_interval_s=row.rec_beep_interval_s,
        announcement=row.rec_announcement,
        announcement_id=row.rec_announcement_id,
    )


def validate_level(level: Level, values: LevelSettings, *, stored: bool = True) -> None:
    """Business rules for one level's settings after a change is applied. A hypothetical
    (what-if) level is not stored, so it may name an announcement."""
    if level is Level.ORG:
        inheriting = [
            name
            for name in ("incoming", "outgoing", "outgoing_mode", "beep", "announcement")
            if getattr(values, name) == "inherit"
        ]
        if inheriting:
            raise Unprocessable(
                "the org is the root of the settings hierarchy and cannot inherit",
                details={"fields": inheriting},
            )
    if values.beep is BeepMode.ON and values.beep_interval_s is None:
        raise Unprocessable(
            "turning the compliance beep on needs beep_interval_s",
            details={"field": "beep_interval_s"},
        )
    if stored and values.announcement is AnnouncementMode.PLAY and not values.announcement_id:
        raise Unprocessable(
            "announcement 'play' needs announcement_id: which announcement to play",
            details={"field": "announcement_id"},
        )


def _merge(base: LevelSettings, update: SettingsUpdate) -> LevelSettings:
    changes: dict[str, Any] = update.model_dump(exclude_unset=True)
    if "announcement_id" in changes and changes["announcement_id"] is not None:
        changes["announcement_id"] = str(changes["announcement_id"])
    return dataclasses.replace(base, **changes)


class SettingsService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.orgs = OrgRepository(session)
        self.teams = TeamRepository(session)
        self.users = UserRepository(session)
        self.devices = DeviceRepository(session)

    def read(self, actor: Actor, level: Level, ref: uuid.UUID | None) -> SettingsRead:
        row, view, _ = self._row_and_rules(actor, level, ref)
        require(view)
        return settings_read(level, row)

    def update(
        self, actor: Actor, level: Level, ref: uuid.UUID | None, data: SettingsUpdate
    ) -> SettingsRead:
        row, _, change = self._row_and_rules(actor, level, ref)
        require(change)
        changes = data.model_dump(exclude_unset=True)
        if _COMPLIANCE_FIELDS & set(changes):
            require(can_change_compliance(actor, change))
        merged = _merge(row.level_settings(row.id), data)
        validate_level(level, merged)
        if data.announcement_id is not None:
            # Same org only: another org's announcement is as unknown as a missing one.
            AnnouncementRepository(self.session).get_in_org(actor.org_id, data.announcement_id)
        before = settings_read(level, row).model_dump(mode="json")
        for name in changes:
            setattr(row, f"rec_{name}", getattr(data, name))
        self.session.flush()
        after = settings_read(level, row)
        self._audit(actor, level, row.id, before, after.model_dump(mode="json"))
        return after

    def _audit(
        self,
        actor: Actor,
        level: Level,
        ref: uuid.UUID,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        diff = field_changes(before, after)
        if diff:
            AuditLog.of(self.session).append(
                AuditAction.SETTINGS_CHANGED,
                org_id=actor.org_id,
                actor_id=actor.user_id,
                subject=f"{level}:{ref}",
                details={"level": level, "changes": diff},
            )

    def _row_and_rules(
        self, actor: Actor, level: Level, ref: uuid.UUID | None
    ) -> tuple[_Leveled, Permission, Permission]:
        if level is Level.ORG:
            org = self.orgs.get(actor.org_id)
            return org, can_view_org_settings(actor, org.id), can_change_org_settings(actor, org.id)
        if ref is None:
            raise NotFound(f"{level} not found")
        if level is Level.TEAM:
            team = self.teams.get_in_org(actor.org_id, ref)
            return (
                team,
                can_view_team_settings(actor, team.id, team.org_id),
                can_change_team_settings(actor, team.id, team.org_id),
            )
        if level is Level.USER:
            user = self.users.get_full(actor.org_id, ref)
            subject = subject_of(user)
            return (
                user,
                can_view_user_settings(actor, subject),
                can_change_user_settings(actor, subject),
            )
        device = self.devices.get_in_org(actor.org_id, ref)
        owner = subject_of(self.users.get_full(actor.org_id, device.user_id))
        return (
            device,
            can_view_device_settings(actor, owner),
            can_change_device_settings(actor, owner),
        )


class DecisionService:
    def __init__(self, session: Session) -> None:
        self.repo = PolicyRepository(session)

    def decide(self, actor: Actor, target: Target) -> Decision:
        return decide(_context_of(self._reach_as(actor, target), target.direction, None))

    def what_if(self, actor: Actor, question: WhatIfRequest) -> Decision:
        return decide(_context_of(self._reach_as(actor, question), question.direction, question))

    def decide_system(
        self,
        org_id: uuid.UUID,
        direction: Direction,
        *,
        device_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
    ) -> Decision:
        """The decision for a call the system itself handles (capture, ingest): no actor."""
        target = Target(direction=direction, device_id=device_id, user_id=user_id)
        return decide(_context_of(self._reach(org_id, target), direction, None))

    def _reach_as(self, actor: Actor, target: Target) -> Reached:
        reached = self._reach(actor.org_id, target)
        if reached.user is not None:
            subject = SubjectUser(reached.user.id, reached.user.org_id, reached.user_team_ids)
            require(can_view_user_settings(actor, subject))
        else:
            require(can_view_org_settings(actor, reached.org.id))
        return reached

    def _reach(self, org_id: uuid.UUID, target: Target) -> Reached:
        """Device id, AOR, extension (a device's, else a user's), or user id; none → trunk."""
        found: Reached | None
        if target.device_id is not None:
            found = self.repo.by_device(org_id, Device.id == target.device_id)
            what = f"device {target.device_id}"
        elif target.aor is not None:
            found = self.repo.by_device(org_id, Device.aor == target.aor)
            what = f"device with AOR {target.aor}"
        elif target.extension is not None:
            found = self.repo.by_device(
                org_id, Device.extension == target.extension
            ) or self.repo.by_user(org_id, User.extension == target.extension)
            what = f"device or user with extension {target.extension}"
        elif target.user_id is not None:
            found = self.repo.by_user(org_id, User.id == target.user_id)
            what = f"user {target.user_id}"
        else:
            return self.repo.org_only(org_id)
        if found is None:
            raise NotFound(f"no {what}")
        return found


def _context_of(
    reached: Reached, direction: Direction, what_if: WhatIfRequest | None
) -> CallContext:
    org, device, user, team = reached.org, reached.device, reached.user, reached.team
    levels: dict[Level, LevelSettings | None] = {
        Level.ORG: org.level_settings(org.id),
        Level.TEAM: team.level_settings(team.id) if team else None,
        Level.USER: user.level_settings(user.id) if user else None,
        Level.DEVICE: device.level_settings(device.id) if device else None,
    }
    has_licence = bool(user and user.has_licence)
    if what_if is not None:
        levels = _overlay(levels, what_if)
        if what_if.has_licence is not None:
            has_licence = what_if.has_licence
    org_settings = levels[Level.ORG]
    assert org_settings is not None  # the org row always exists
    return CallContext(
        direction=direction,
        org=org_settings,
        has_licence=has_licence,
        user=levels[Level.USER],
        device=levels[Level.DEVICE],
        team=levels[Level.TEAM],
    )


def _overlay(
    levels: dict[Level, LevelSettings | None], what_if: WhatIfRequest
) -> dict[Level, LevelSettings | None]:
    updates = {
        Level.ORG: what_if.org,
        Level.TEAM: what_if.team,
        Level.USER: what_if.user,
        Level.DEVICE: what_if.device,
    }
    result = dict(levels)
    for level, update in updates.items():
        if update is None:
            continue
        merged = _merge(levels[level] or LevelSettings(), update)
        validate_level(level, merged, stored=False)
        result[level] = merged
    return result
