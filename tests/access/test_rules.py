"""Table-driven tests for the access rules, plus properties for the scope orderings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from itertools import pairwise
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.access import (
    Actor,
    CallFacts,
    ManagementScope,
    Permission,
    PlaybackScope,
    Role,
    SubjectUser,
    can_administer_directory,
    can_change_compliance,
    can_change_device_settings,
    can_change_org_settings,
    can_change_team_settings,
    can_change_user_settings,
    can_manage_orgs,
    can_play,
    can_view_device_settings,
    can_view_org_settings,
    can_view_team_settings,
    can_view_user_settings,
    effective_management_scope,
)

ORG = UUID(int=1)
OTHER_ORG = UUID(int=2)
ME = UUID(int=10)
ALICE = UUID(int=11)
BOB = UUID(int=12)
CAROL = UUID(int=13)
TEAM_A = UUID(int=100)
TEAM_B = UUID(int=101)
TEAM_C = UUID(int=102)

# --- factories ------------------------------------------------------------------------------


def actor(
    *,
    role: Role = Role.SUPERVISOR,
    scope: ManagementScope = ManagementScope.ME,
    managed: Iterable[UUID] = (),
    playback: PlaybackScope = PlaybackScope.NONE,
    primary: UUID | None = None,
    members: Iterable[UUID] = (),
    org: UUID = ORG,
    platform_admin: bool = False,
) -> Actor:
    return Actor(
        user_id=ME,
        org_id=org,
        role=role,
        management_scope=scope,
        managed_team_ids=frozenset(managed),
        playback_scope=playback,
        primary_team_id=primary,
        member_team_ids=frozenset(members),
        is_platform_admin=platform_admin,
    )


def subject(user_id: UUID = ALICE, *, teams: Iterable[UUID] = (), org: UUID = ORG) -> SubjectUser:
    return SubjectUser(user_id=user_id, org_id=org, team_ids=frozenset(teams))


def call(
    *, participants: Iterable[UUID] = (), teams: Iterable[UUID] = (), org: UUID = ORG
) -> CallFacts:
    return CallFacts(
        org_id=org, participant_user_ids=frozenset(participants), team_ids=frozenset(teams)
    )


def assert_permission(result: Permission, expected: Permission) -> None:
    """``expected`` is ``True`` for allowed, or a fragment the refusal reason must contain."""
    if expected is True:
        assert result is True
    else:
        assert isinstance(result, str), f"expected a refusal containing {expected!r}"
        assert expected in result


OTHER_ORG_REASON = "not in your organisation"
ADMIN = actor(role=Role.ORG_ADMIN)
PLATFORM_ADMIN = actor(role=Role.USER, platform_admin=True)

# --- effective management scope -------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        pytest.param(
            actor(role=Role.ORG_ADMIN, scope=ManagementScope.ME),
            ManagementScope.EVERYONE,
            id="org_admin_manages_everyone_whatever_stored_scope",
        ),
        pytest.param(
            actor(role=Role.ORG_ADMIN, scope=ManagementScope.TEAMS),
            ManagementScope.EVERYONE,
            id="org_admin_with_teams_scope_still_manages_everyone",
        ),
        *(
            pytest.param(
                actor(role=role, scope=scope),
                scope,
                id=f"{role}_uses_assigned_{scope}_scope",
            )
            for role in (Role.SUPERVISOR, Role.USER)
            for scope in ManagementScope
        ),
    ],
)
def test_effective_management_scope(who: Actor, expected: ManagementScope) -> None:
    assert effective_management_scope(who) is expected


# --- user and device settings ---------------------------------------------------------------

UserRule = Callable[[Actor, SubjectUser], Permission]
USER_RULES = [
    pytest.param(can_view_user_settings, "view", id="view_user"),
    pytest.param(can_change_user_settings, "change", id="change_user"),
    pytest.param(can_view_device_settings, "view", id="view_device"),
    pytest.param(can_change_device_settings, "change", id="change_device"),
]

USER_CASES = [
    pytest.param(
        actor(scope=ManagementScope.ME), subject(ME), True, id="me_scope_covers_own_settings"
    ),
    pytest.param(
        actor(role=Role.USER, scope=ManagementScope.ME),
        subject(ME, teams=[TEAM_A]),
        True,
        id="plain_user_may_manage_own_settings",
    ),
    pytest.param(
        actor(scope=ManagementScope.TEAMS, managed=[TEAM_A]),
        subject(ME, teams=[TEAM_B]),
        True,
        id="teams_scope_covers_own_settings_outside_managed_teams",
    ),
    pytest.param(
        actor(scope=ManagementScope.ME),
        subject(ALICE),
        "your management scope is 'me': you may only {action} your own settings",
        id="me_scope_refuses_another_user",
    ),
    pytest.param(
        actor(scope=ManagementScope.ME),
        subject(ALICE, teams=[TEAM_A]),
        "scope is 'me'",
        id="me_scope_refuses_teammate",
    ),
    pytest.param(
        actor(scope=ManagementScope.TEAMS, managed=[TEAM_A]),
        subject(ALICE, teams=[TEAM_A]),
        True,
        id="teams_scope_covers_member_of_managed_team",
    ),
    pytest.param(
        actor(scope=ManagementScope.TEAMS, managed=[TEAM_A, TEAM_C]),
        subject(ALICE, teams=[TEAM_B, TEAM_C]),
        True,
        id="teams_scope_covers_user_whose_secondary_team_is_managed",
    ),
    pytest.param(
        actor(scope=ManagementScope.TEAMS, managed=[TEAM_A]),
        subject(ALICE, teams=[TEAM_B]),
        "your management scope is 'teams': you may only {action} users in the teams you manage",
        id="teams_scope_refuses_user_outside_managed_teams",
    ),
    pytest.param(
        actor(scope=ManagementScope.TEAMS),
        subject(ALICE, teams=[TEAM_A]),
        "scope is 'teams'",
        id="teams_scope_without_managed_teams_refuses_others",
    ),
    pytest.param(
        actor(scope=ManagementScope.TEAMS, managed=[TEAM_A]),
        subject(ALICE),
        "scope is 'teams'",
        id="teams_scope_refuses_user_in_no_team",
    ),
    pytest.param(
        actor(scope=ManagementScope.EVERYONE),
        subject(ALICE, teams=[TEAM_B]),
        True,
        id="everyone_scope_covers_any_user_in_org",
    ),
    pytest.param(
        actor(role=Role.ORG_ADMIN, scope=ManagementScope.ME),
        subject(BOB),
        True,
        id="org_admin_covers_any_user_whatever_stored_scope",
    ),
    pytest.param(
        actor(scope=ManagementScope.EVERYONE),
        subject(ALICE, org=OTHER_ORG),
        OTHER_ORG_REASON,
        id="other_org_user_refused_under_everyone_scope",
    ),
    pytest.param(
        actor(scope=ManagementScope.TEAMS, managed=[TEAM_A]),
        subject(ALICE, teams=[TEAM_A], org=OTHER_ORG),
        OTHER_ORG_REASON,
        id="other_org_user_refused_despite_shared_team_id",
    ),
    pytest.param(
        ADMIN,
        subject(ALICE, org=OTHER_ORG),
        OTHER_ORG_REASON,
        id="other_org_user_refused_for_org_admin",
    ),
    pytest.param(
        replace(PLATFORM_ADMIN, role=Role.ORG_ADMIN),
        subject(ALICE, org=OTHER_ORG),
        OTHER_ORG_REASON,
        id="other_org_user_refused_for_platform_admin",
    ),
]


@pytest.mark.parametrize(("rule", "action"), USER_RULES)
@pytest.mark.parametrize(("who", "target", "expected"), USER_CASES)
def test_user_and_device_settings(
    rule: UserRule, action: str, who: Actor, target: SubjectUser, expected: Permission
) -> None:
    if isinstance(expected, str):
        expected = expected.format(action=action)
    assert_permission(rule(who, target), expected)


# --- team settings --------------------------------------------------------------------------

TeamRule = Callable[[Actor, UUID, UUID], Permission]
TEAM_RULES = [
    pytest.param(can_view_team_settings, "view", id="view_team"),
    pytest.param(can_change_team_settings, "change", id="change_team"),
]


@pytest.mark.parametrize(("rule", "action"), TEAM_RULES)
@pytest.mark.parametrize(
    ("who", "team_id", "team_org", "expected"),
    [
        pytest.param(
            actor(scope=ManagementScope.EVERYONE),
            TEAM_B,
            ORG,
            True,
            id="everyone_scope_covers_any_team",
        ),
        pytest.param(ADMIN, TEAM_C, ORG, True, id="org_admin_covers_any_team"),
        pytest.param(
            actor(scope=ManagementScope.TEAMS, managed=[TEAM_A, TEAM_B]),
            TEAM_B,
            ORG,
            True,
            id="teams_scope_covers_managed_team",
        ),
        pytest.param(
            actor(scope=ManagementScope.TEAMS, managed=[TEAM_A], primary=TEAM_B),
            TEAM_B,
            ORG,
            "your management scope is 'teams': you may only {action} the teams you manage",
            id="teams_scope_refuses_own_but_unmanaged_team",
        ),
        pytest.param(
            actor(scope=ManagementScope.ME, primary=TEAM_A, members=[TEAM_A]),
            TEAM_A,
            ORG,
            "your management scope is 'me': you may not {action} team settings",
            id="me_scope_refuses_even_own_team",
        ),
        pytest.param(
            actor(role=Role.USER, scope=ManagementScope.ME),
            TEAM_A,
            ORG,
            "scope is 'me'",
            id="plain_user_refused",
        ),
        pytest.param(
            actor(scope=ManagementScope.TEAMS, managed=[TEAM_A]),
            TEAM_A,
            OTHER_ORG,
            OTHER_ORG_REASON,
            id="other_org_team_refused_despite_managed_id",
        ),
        pytest.param(ADMIN, TEAM_A, OTHER_ORG, OTHER_ORG_REASON, id="other_org_team_refused"),
    ],
)
def test_team_settings(
    rule: TeamRule,
    action: str,
    who: Actor,
    team_id: UUID,
    team_org: UUID,
    expected: Permission,
) -> None:
    if isinstance(expected, str):
        expected = expected.format(action=action)
    assert_permission(rule(who, team_id, team_org), expected)


# --- org settings and directory -------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "org_id", "expected"),
    [
        pytest.param(
            actor(role=Role.USER, scope=ManagementScope.ME),
            ORG,
            True,
            id="plain_user_may_view_inherited_org_settings",
        ),
        pytest.param(actor(), ORG, True, id="supervisor_may_view"),
        pytest.param(ADMIN, ORG, True, id="org_admin_may_view"),
        pytest.param(ADMIN, OTHER_ORG, OTHER_ORG_REASON, id="other_org_refused_for_org_admin"),
        pytest.param(
            PLATFORM_ADMIN, OTHER_ORG, OTHER_ORG_REASON, id="other_org_refused_for_platform_admin"
        ),
    ],
)
def test_can_view_org_settings(who: Actor, org_id: UUID, expected: Permission) -> None:
    assert_permission(can_view_org_settings(who, org_id), expected)


OrgRule = Callable[[Actor, UUID], Permission]


@pytest.mark.parametrize(
    ("rule", "action"),
    [
        pytest.param(can_change_org_settings, "change organisation settings", id="org_settings"),
        pytest.param(can_administer_directory, "manage teams, users", id="directory"),
    ],
)
@pytest.mark.parametrize(
    ("who", "org_id", "expected"),
    [
        pytest.param(ADMIN, ORG, True, id="org_admin_allowed"),
        pytest.param(
            actor(scope=ManagementScope.EVERYONE),
            ORG,
            "your role is 'supervisor': only org admins may {action}",
            id="supervisor_with_everyone_scope_refused",
        ),
        pytest.param(
            actor(role=Role.USER),
            ORG,
            "your role is 'user': only org admins may {action}",
            id="plain_user_refused",
        ),
        pytest.param(PLATFORM_ADMIN, ORG, "your role is 'user'", id="platform_flag_is_not_a_role"),
        pytest.param(ADMIN, OTHER_ORG, OTHER_ORG_REASON, id="other_org_admin_refused"),
    ],
)
def test_org_admin_only_rules(
    rule: OrgRule, action: str, who: Actor, org_id: UUID, expected: Permission
) -> None:
    if isinstance(expected, str):
        expected = expected.format(action=action)
    assert_permission(rule(who, org_id), expected)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        pytest.param(PLATFORM_ADMIN, True, id="platform_admin_allowed"),
        pytest.param(
            replace(PLATFORM_ADMIN, org_id=OTHER_ORG), True, id="platform_admin_from_any_org"
        ),
        pytest.param(ADMIN, "only platform admins", id="org_admin_refused"),
        pytest.param(actor(scope=ManagementScope.EVERYONE), "platform", id="supervisor_refused"),
    ],
)
def test_can_manage_orgs(who: Actor, expected: Permission) -> None:
    assert_permission(can_manage_orgs(who), expected)


# --- compliance -----------------------------------------------------------------------------

TEAM_SUPERVISOR = actor(scope=ManagementScope.TEAMS, managed=[TEAM_A])
PLAIN_USER = actor(role=Role.USER, scope=ManagementScope.ME)
ROLE_REASON = "compliance settings are changed only by org admins and supervisors"


@pytest.mark.parametrize(
    ("who", "scope_permission", "expected"),
    [
        pytest.param(
            TEAM_SUPERVISOR,
            can_change_user_settings(TEAM_SUPERVISOR, subject(ALICE, teams=[TEAM_A])),
            True,
            id="supervisor_may_set_beep_for_user_in_scope",
        ),
        pytest.param(
            TEAM_SUPERVISOR,
            can_change_device_settings(TEAM_SUPERVISOR, subject(ALICE, teams=[TEAM_A])),
            True,
            id="supervisor_may_set_beep_for_device_in_scope",
        ),
        pytest.param(
            TEAM_SUPERVISOR,
            can_change_team_settings(TEAM_SUPERVISOR, TEAM_A, ORG),
            True,
            id="supervisor_may_set_beep_for_managed_team",
        ),
        pytest.param(
            TEAM_SUPERVISOR,
            can_change_user_settings(TEAM_SUPERVISOR, subject(ME)),
            True,
            id="supervisor_may_set_beep_on_own_settings",
        ),
        pytest.param(
            TEAM_SUPERVISOR,
            can_change_user_settings(TEAM_SUPERVISOR, subject(ALICE, teams=[TEAM_B])),
            "your management scope is 'teams': you may only change users in the teams you manage",
            id="supervisor_refused_with_scope_reason_for_user_out_of_scope",
        ),
        pytest.param(
            TEAM_SUPERVISOR,
            can_change_team_settings(TEAM_SUPERVISOR, TEAM_B, ORG),
            "you may only change the teams you manage",
            id="supervisor_refused_for_unmanaged_team",
        ),
        pytest.param(
            TEAM_SUPERVISOR,
            can_change_org_settings(TEAM_SUPERVISOR, ORG),
            "only org admins may change organisation settings",
            id="supervisor_refused_at_org_level",
        ),
        pytest.param(
            ADMIN,
            can_change_user_settings(ADMIN, subject(BOB, teams=[TEAM_C])),
            True,
            id="org_admin_may_set_beep_for_any_user",
        ),
        pytest.param(
            ADMIN,
            can_change_org_settings(ADMIN, ORG),
            True,
            id="org_admin_may_set_beep_at_org_level",
        ),
        pytest.param(
            PLAIN_USER,
            can_change_user_settings(PLAIN_USER, subject(ME)),
            "your role is 'user': " + ROLE_REASON,
            id="plain_user_may_not_set_beep_on_own_settings",
        ),
        pytest.param(
            actor(role=Role.USER, scope=ManagementScope.EVERYONE),
            True,
            ROLE_REASON,
            id="plain_user_refused_whatever_scope",
        ),
        pytest.param(
            replace(PLAIN_USER, is_platform_admin=True),
            True,
            ROLE_REASON,
            id="platform_admin_flag_does_not_grant_compliance",
        ),
        pytest.param(
            ADMIN,
            can_change_user_settings(ADMIN, subject(ALICE, org=OTHER_ORG)),
            OTHER_ORG_REASON,
            id="other_org_user_refused_for_org_admin",
        ),
        pytest.param(
            ADMIN,
            can_change_org_settings(ADMIN, OTHER_ORG),
            OTHER_ORG_REASON,
            id="other_org_refused_at_org_level",
        ),
    ],
)
def test_can_change_compliance(
    who: Actor, scope_permission: Permission, expected: Permission
) -> None:
    assert_permission(can_change_compliance(who, scope_permission), expected)


def test_compliance_passes_the_scope_reason_through_unchanged() -> None:
    reason = can_change_user_settings(TEAM_SUPERVISOR, subject(ALICE))
    assert isinstance(reason, str)
    assert can_change_compliance(TEAM_SUPERVISOR, reason) == reason


# --- playback -------------------------------------------------------------------------------

NON_NONE_SCOPES = [s for s in PlaybackScope if s is not PlaybackScope.NONE]


def player(scope: PlaybackScope, *, primary: UUID | None = TEAM_A) -> Actor:
    return actor(playback=scope, primary=primary, members=[TEAM_B])


@pytest.mark.parametrize(
    ("who", "facts", "expected"),
    [
        pytest.param(
            player(PlaybackScope.ALL),
            call(participants=[ALICE], teams=[TEAM_A], org=OTHER_ORG),
            OTHER_ORG_REASON,
            id="all_scope_refuses_other_org_call",
        ),
        pytest.param(
            player(PlaybackScope.OWN),
            call(participants=[ME], org=OTHER_ORG),
            OTHER_ORG_REASON,
            id="own_scope_refuses_other_org_call_even_as_participant",
        ),
        pytest.param(
            player(PlaybackScope.NONE),
            call(participants=[ME]),
            "your playback scope is 'none': you have no playback permission",
            id="none_scope_refuses_even_own_call",
        ),
        pytest.param(
            player(PlaybackScope.NONE),
            call(participants=[ALICE], teams=[TEAM_A]),
            "no playback permission",
            id="none_scope_refuses_primary_team_call",
        ),
        pytest.param(
            player(PlaybackScope.OWN),
            call(participants=[ALICE], teams=[TEAM_A]),
            "your playback scope is 'own': you may only play calls you took part in",
            id="own_scope_refuses_colleagues_call_in_primary_team",
        ),
        pytest.param(
            player(PlaybackScope.PRIMARY_GROUP),
            call(participants=[ALICE], teams=[TEAM_A]),
            True,
            id="primary_group_covers_call_tagged_with_primary_team",
        ),
        pytest.param(
            player(PlaybackScope.PRIMARY_GROUP),
            call(participants=[ALICE], teams=[TEAM_C, TEAM_A]),
            True,
            id="primary_group_covers_call_tagged_with_several_teams_incl_primary",
        ),
        pytest.param(
            player(PlaybackScope.PRIMARY_GROUP),
            call(participants=[ALICE], teams=[TEAM_B]),
            "your playback scope is 'primary_group': you did not take part in this call and "
            "it is not tagged with your primary team",
            id="primary_group_refuses_call_tagged_only_with_member_team",
        ),
        pytest.param(
            player(PlaybackScope.PRIMARY_GROUP, primary=None),
            call(participants=[ALICE], teams=[TEAM_A]),
            "scope is 'primary_group'",
            id="primary_group_without_primary_team_refuses_team_calls",
        ),
        pytest.param(
            player(PlaybackScope.MEMBER_GROUPS),
            call(participants=[ALICE], teams=[TEAM_B]),
            True,
            id="member_groups_covers_call_tagged_with_member_team",
        ),
        pytest.param(
            player(PlaybackScope.MEMBER_GROUPS),
            call(participants=[ALICE], teams=[TEAM_A]),
            True,
            id="member_groups_covers_primary_team_missing_from_member_list",
        ),
        pytest.param(
            player(PlaybackScope.MEMBER_GROUPS),
            call(participants=[ALICE], teams=[TEAM_C]),
            "your playback scope is 'member_groups': you did not take part in this call and "
            "it is not tagged with any team you belong to",
            id="member_groups_refuses_call_of_unrelated_team",
        ),
        pytest.param(
            player(PlaybackScope.MEMBER_GROUPS),
            call(participants=[ALICE, BOB]),
            "scope is 'member_groups'",
            id="member_groups_refuses_untagged_call_of_others",
        ),
        pytest.param(
            player(PlaybackScope.ALL),
            call(participants=[ALICE], teams=[TEAM_C]),
            True,
            id="all_scope_covers_unrelated_team_call",
        ),
        pytest.param(
            player(PlaybackScope.ALL),
            call(),
            True,
            id="all_scope_covers_untagged_call_without_known_participants",
        ),
    ],
)
def test_can_play(who: Actor, facts: CallFacts, expected: Permission) -> None:
    assert_permission(can_play(who, facts), expected)


# The brief: users may play back their own calls under any scope other than NONE, and taking
# part at any point (e.g. joining a conference late) covers the whole of that call.
@pytest.mark.parametrize("scope", NON_NONE_SCOPES, ids=lambda s: f"{s}_scope")
@pytest.mark.parametrize(
    "facts",
    [
        pytest.param(call(participants=[ME, ALICE]), id="own_untagged_call"),
        pytest.param(call(participants=[ME], teams=[TEAM_C]), id="own_call_of_unrelated_team"),
        pytest.param(
            call(participants=[ALICE, BOB, CAROL, ME], teams=[TEAM_C]),
            id="conference_joined_at_any_point",
        ),
    ],
)
def test_own_calls_playable_under_every_non_none_scope(
    scope: PlaybackScope, facts: CallFacts
) -> None:
    assert can_play(player(scope), facts) is True


def test_conference_is_covered_only_for_participants() -> None:
    conference = call(participants=[ALICE, BOB, CAROL], teams=[TEAM_C])
    joined = replace(conference, participant_user_ids=conference.participant_user_ids | {ME})
    assert can_play(player(PlaybackScope.OWN), conference) is not True
    assert can_play(player(PlaybackScope.OWN), joined) is True


# --- properties -----------------------------------------------------------------------------

ORG_IDS = st.sampled_from([ORG, OTHER_ORG])
USER_IDS = st.sampled_from([ME, ALICE, BOB, CAROL])
TEAM_IDS = st.sampled_from([TEAM_A, TEAM_B, TEAM_C])
TEAM_SETS = st.frozensets(TEAM_IDS)

ACTORS = st.builds(
    Actor,
    user_id=USER_IDS,
    org_id=ORG_IDS,
    role=st.sampled_from(Role),
    management_scope=st.sampled_from(ManagementScope),
    managed_team_ids=TEAM_SETS,
    playback_scope=st.sampled_from(PlaybackScope),
    primary_team_id=st.none() | TEAM_IDS,
    member_team_ids=TEAM_SETS,
    is_platform_admin=st.booleans(),
)
CALLS = st.builds(
    CallFacts, org_id=ORG_IDS, participant_user_ids=st.frozensets(USER_IDS), team_ids=TEAM_SETS
)
SUBJECTS = st.builds(SubjectUser, user_id=USER_IDS, org_id=ORG_IDS, team_ids=TEAM_SETS)

PLAYBACK_ORDER = [
    PlaybackScope.OWN,
    PlaybackScope.PRIMARY_GROUP,
    PlaybackScope.MEMBER_GROUPS,
    PlaybackScope.ALL,
]
MANAGEMENT_ORDER = [ManagementScope.ME, ManagementScope.TEAMS, ManagementScope.EVERYONE]


@settings(database=None)
@given(who=ACTORS, facts=CALLS)
def test_all_scope_plays_every_same_org_call_and_no_other_org_call(
    who: Actor, facts: CallFacts
) -> None:
    result = can_play(replace(who, playback_scope=PlaybackScope.ALL), facts)
    assert (result is True) == (facts.org_id == who.org_id)


@settings(database=None)
@given(who=ACTORS, facts=CALLS)
def test_playback_scopes_are_monotone(who: Actor, facts: CallFacts) -> None:
    allowed = [
        can_play(replace(who, playback_scope=scope), facts) is True for scope in PLAYBACK_ORDER
    ]
    for narrower, wider in pairwise(allowed):
        assert not narrower or wider
    assert can_play(replace(who, playback_scope=PlaybackScope.NONE), facts) is not True


@settings(database=None)
@given(who=ACTORS, target=SUBJECTS)
def test_management_scopes_are_monotone(who: Actor, target: SubjectUser) -> None:
    supervisor = replace(who, role=Role.SUPERVISOR)
    for rule in (can_view_user_settings, can_change_user_settings):
        allowed = [
            rule(replace(supervisor, management_scope=scope), target) is True
            for scope in MANAGEMENT_ORDER
        ]
        for narrower, wider in pairwise(allowed):
            assert not narrower or wider


@settings(database=None)
@given(who=ACTORS, target=SUBJECTS)
def test_refusals_always_carry_a_reason(who: Actor, target: SubjectUser) -> None:
    for result in (
        can_view_user_settings(who, target),
        can_change_user_settings(who, target),
        can_change_compliance(who, can_change_user_settings(who, target)),
    ):
        assert result is True or (isinstance(result, str) and result)
