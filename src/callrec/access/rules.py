"""Who may see and change what: pure rules over plain data (no I/O, no framework).

Every rule returns a ``Permission``: ``True`` when allowed, otherwise a sentence telling the
actor why not, so the API and the UI can show the refusal as is instead of a bare 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, TypeAlias
from uuid import UUID


class Role(StrEnum):
    ORG_ADMIN = "org_admin"
    SUPERVISOR = "supervisor"
    USER = "user"


class ManagementScope(StrEnum):
    ME = "me"
    TEAMS = "teams"
    EVERYONE = "everyone"


class PlaybackScope(StrEnum):
    NONE = "none"
    OWN = "own"
    PRIMARY_GROUP = "primary_group"
    MEMBER_GROUPS = "member_groups"
    ALL = "all"


Permission: TypeAlias = Literal[True] | str


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated user making a request."""

    user_id: UUID
    org_id: UUID
    role: Role
    management_scope: ManagementScope
    managed_team_ids: frozenset[UUID] = frozenset()  # only read under the TEAMS scope
    playback_scope: PlaybackScope = PlaybackScope.NONE
    primary_team_id: UUID | None = None
    member_team_ids: frozenset[UUID] = frozenset()  # may or may not include the primary team
    is_platform_admin: bool = False


@dataclass(frozen=True, slots=True)
class SubjectUser:
    """A user whose settings (or whose device's settings) are viewed or changed."""

    user_id: UUID
    org_id: UUID
    team_ids: frozenset[UUID]  # the primary team plus member teams


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the playback rules need to know about a recorded call."""

    org_id: UUID
    participant_user_ids: frozenset[UUID]  # anyone involved at any point, conferences included
    team_ids: frozenset[UUID]


# Roles allowed into "Admin tools → Compliance"; the target still has to be in their scope.
_COMPLIANCE_ROLES = frozenset({Role.ORG_ADMIN, Role.SUPERVISOR})

_PLAYBACK_LIMITS: dict[PlaybackScope, str] = {
    PlaybackScope.OWN: "you may only play calls you took part in",
    PlaybackScope.PRIMARY_GROUP: (
        "you did not take part in this call and it is not tagged with your primary team"
    ),
    PlaybackScope.MEMBER_GROUPS: (
        "you did not take part in this call and it is not tagged with any team you belong to"
    ),
}


def _other_org(what: str) -> str:
    return f"{what} is not in your organisation"


def _management(actor: Actor, detail: str) -> str:
    return f"your management scope is '{effective_management_scope(actor)}': {detail}"


def effective_management_scope(actor: Actor) -> ManagementScope:
    # An org admin's stored scope is irrelevant: the role already implies the whole org.
    if actor.role is Role.ORG_ADMIN:
        return ManagementScope.EVERYONE
    return actor.management_scope


# --- user and device settings ---------------------------------------------------------------


def _user_settings(actor: Actor, subject: SubjectUser, action: str) -> Permission:
    if subject.org_id != actor.org_id:
        return _other_org("this user")
    # Everyone owns their own recording settings, whatever scope they were given.
    if subject.user_id == actor.user_id:
        return True
    scope = effective_management_scope(actor)
    if scope is ManagementScope.EVERYONE:
        return True
    if scope is ManagementScope.TEAMS:
        if subject.team_ids & actor.managed_team_ids:
            return True
        return _management(actor, f"you may only {action} users in the teams you manage")
    return _management(actor, f"you may only {action} your own settings")


def can_view_user_settings(actor: Actor, subject: SubjectUser) -> Permission:
    return _user_settings(actor, subject, "view")


def can_change_user_settings(actor: Actor, subject: SubjectUser) -> Permission:
    return _user_settings(actor, subject, "change")


# A device has no scope of its own: whoever may manage its owner may manage it.
def can_view_device_settings(actor: Actor, owner: SubjectUser) -> Permission:
    return can_view_user_settings(actor, owner)


def can_change_device_settings(actor: Actor, owner: SubjectUser) -> Permission:
    return can_change_user_settings(actor, owner)


# --- team and org settings ------------------------------------------------------------------


def _team_settings(actor: Actor, team_id: UUID, team_org_id: UUID, action: str) -> Permission:
    if team_org_id != actor.org_id:
        return _other_org("this team")
    scope = effective_management_scope(actor)
    if scope is ManagementScope.EVERYONE:
        return True
    if scope is ManagementScope.TEAMS:
        if team_id in actor.managed_team_ids:
            return True
        return _management(actor, f"you may only {action} the teams you manage")
    return _management(actor, f"you may not {action} team settings")


def can_view_team_settings(actor: Actor, team_id: UUID, team_org_id: UUID) -> Permission:
    return _team_settings(actor, team_id, team_org_id, "view")


def can_change_team_settings(actor: Actor, team_id: UUID, team_org_id: UUID) -> Permission:
    return _team_settings(actor, team_id, team_org_id, "change")


def can_view_org_settings(actor: Actor, org_id: UUID) -> Permission:
    # Every member may look: users need to see the defaults they inherit.
    if org_id != actor.org_id:
        return _other_org("this organisation")
    return True


def can_change_org_settings(actor: Actor, org_id: UUID) -> Permission:
    return _org_admin_only(actor, org_id, "change organisation settings")


# --- admin tools ----------------------------------------------------------------------------


def can_change_compliance(actor: Actor, subject_scope_permission: Permission) -> Permission:
    """``subject_scope_permission`` is the matching ``can_change_*`` result for the target."""
    # The role check comes first so a plain user is refused even on their own settings,
    # where the scope rule alone would let them switch the compliance beep off.
    if actor.role not in _COMPLIANCE_ROLES:
        return (
            f"your role is '{actor.role}': compliance settings are changed only by "
            "org admins and supervisors"
        )
    return subject_scope_permission


def can_administer_directory(actor: Actor, org_id: UUID) -> Permission:
    return _org_admin_only(actor, org_id, "manage teams, users, devices, licences and roles")


def can_manage_orgs(actor: Actor) -> Permission:
    if actor.is_platform_admin:
        return True
    return "only platform admins may create organisations or set licence counts"


def _org_admin_only(actor: Actor, org_id: UUID, action: str) -> Permission:
    if org_id != actor.org_id:
        return _other_org("this organisation")
    if actor.role is Role.ORG_ADMIN:
        return True
    return f"your role is '{actor.role}': only org admins may {action}"


# --- playback -------------------------------------------------------------------------------


def can_play(actor: Actor, call: CallFacts) -> Permission:
    if call.org_id != actor.org_id:
        return _other_org("this call")
    scope = actor.playback_scope
    if scope is PlaybackScope.NONE:
        return "your playback scope is 'none': you have no playback permission"
    # Any scope beyond NONE includes one's own calls, and all of a conference one was in.
    if scope is PlaybackScope.ALL or actor.user_id in call.participant_user_ids:
        return True
    if call.team_ids & _playable_team_ids(actor):
        return True
    return f"your playback scope is '{scope}': {_PLAYBACK_LIMITS[scope]}"


def _playable_team_ids(actor: Actor) -> frozenset[UUID]:
    primary: frozenset[UUID] = frozenset()
    if actor.primary_team_id is not None:
        primary = frozenset({actor.primary_team_id})
    if actor.playback_scope is PlaybackScope.PRIMARY_GROUP:
        return primary
    # The primary team is a membership too, even when member_team_ids leaves it out.
    if actor.playback_scope is PlaybackScope.MEMBER_GROUPS:
        return primary | actor.member_team_ids
    return frozenset()


# --- call session view ----------------------------------------------------------------------


def can_view_call(actor: Actor, call: CallFacts) -> Permission:
    """Whether the call exists for this actor at all (its session view, without recordings).

    One's own calls are always visible, also without playback permission (the unified history
    lists them, with no recording); org admins see every call of their org; anyone else sees
    exactly the calls they may play.
    """
    if call.org_id != actor.org_id:
        return _other_org("this call")
    if actor.user_id in call.participant_user_ids or actor.role is Role.ORG_ADMIN:
        return True
    return can_play(actor, call)


def can_see_decision_trace(actor: Actor, org_id: UUID) -> Permission:
    """Why a call was recorded (the policy trace) is configuration detail: org admins only."""
    return _org_admin_only(actor, org_id, "see the recording decision trace")


# --- call-list reports ----------------------------------------------------------------------


def sees_every_call(actor: Actor) -> bool:
    """Report rows: the whole org's calls (as ``can_view_call``: org admins, and 'all')."""
    return actor.role is Role.ORG_ADMIN or actor.playback_scope is PlaybackScope.ALL


def visible_team_ids(actor: Actor) -> frozenset[UUID]:
    """Teams whose tagged calls the actor sees (and may play) beyond their own calls."""
    return _playable_team_ids(actor)


def can_filter_by_recording(actor: Actor) -> Permission:
    # Filtering on "has a recording" would tell someone without playback permission which of
    # their calls were recorded; the brief keeps that hidden from them.
    if actor.playback_scope is not PlaybackScope.NONE or actor.role is Role.ORG_ADMIN:
        return True
    return "your playback scope is 'none': recording filters need playback permission"


def can_share_report_filter(actor: Actor, team_id: UUID, team_org_id: UUID) -> Permission:
    """A saved report filter may be shared with a team the owner belongs to or manages."""
    if team_org_id != actor.org_id:
        return _other_org("this team")
    if actor.role is Role.ORG_ADMIN:
        return True
    mine = actor.member_team_ids | actor.managed_team_ids
    if team_id == actor.primary_team_id or team_id in mine:
        return True
    return "you may only share a filter with a team you belong to or manage"
