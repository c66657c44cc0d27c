"""Table-driven tests for the recording decision: device → user → primary team → org."""

from __future__ import annotations

import re

import pytest

from callrec.policy import (
    AnnouncementMode,
    BeepMode,
    CallContext,
    Decision,
    Direction,
    Level,
    LevelSettings,
    OutgoingMode,
    Reason,
    Toggle,
    decide,
)

ON, OFF, INHERIT = Toggle.ON, Toggle.OFF, Toggle.INHERIT
IN, OUT = Direction.INCOMING, Direction.OUTGOING
RECORD_ASPECTS = {"reached", "licence", "incoming", "outgoing"}
REFS = {Level.DEVICE: "dev-1", Level.USER: "usr-1", Level.TEAM: "team-1", Level.ORG: "org-1"}


def toggles(direction: Direction, value: Toggle, other: Toggle = INHERIT) -> dict[str, Toggle]:
    """``incoming``/``outgoing`` kwargs: ``value`` for ``direction``, ``other`` for the rest."""
    if direction is IN:
        return {"incoming": value, "outgoing": other}
    return {"incoming": other, "outgoing": value}


def level(lvl: Level, **kwargs: object) -> LevelSettings:
    return LevelSettings(ref=REFS[lvl], **kwargs)  # type: ignore[arg-type]


def org(**kwargs: object) -> LevelSettings:
    """A valid org: every aspect decided (OFF/record_all/off/none) unless overridden."""
    base: dict[str, object] = {
        "incoming": OFF,
        "outgoing": OFF,
        "outgoing_mode": OutgoingMode.RECORD_ALL,
        "beep": BeepMode.OFF,
        "announcement": AnnouncementMode.NONE,
    }
    return level(Level.ORG, **{**base, **kwargs})


def call(
    direction: Direction,
    *,
    org_settings: LevelSettings,
    device: LevelSettings | None = None,
    user: LevelSettings | None = None,
    team: LevelSettings | None = None,
    licence: bool = True,
) -> CallContext:
    return CallContext(
        direction=direction,
        org=org_settings,
        has_licence=licence,
        user=user,
        device=device,
        team=team,
    )


def steps(decision: Decision, aspect: str) -> list[tuple[Level, str, bool]]:
    return [(s.level, s.value, s.decisive) for s in decision.trace if s.aspect == aspect]


def aspects(decision: Decision) -> set[str]:
    return {s.aspect for s in decision.trace}


def record_call(
    direction: Direction,
    device: Toggle | None,
    user: Toggle | None,
    team: Toggle | None,
    org_toggle: Toggle,
) -> CallContext:
    """A licensed call where each present level sets only the toggle for ``direction``."""

    def at(lvl: Level, value: Toggle | None) -> LevelSettings | None:
        return None if value is None else level(lvl, **toggles(direction, value))

    return call(
        direction,
        org_settings=org(**toggles(direction, org_toggle, other=OFF)),
        device=at(Level.DEVICE, device),
        user=at(Level.USER, user),
        team=at(Level.TEAM, team),
    )


# --- the brief's worked examples ------------------------------------------------------------


@pytest.mark.parametrize("direction", list(Direction), ids=str)
def test_brief_example_1_device_off_takes_precedence(direction: Direction) -> None:
    """Example 1 from the brief, verbatim:

    "Device Setting -> Off, User Setting -> Inherit, Customer Setting -> On.
    Result: The call will not be recorded. The device setting will take precedence."
    """
    decision = decide(record_call(direction, device=OFF, user=INHERIT, team=None, org_toggle=ON))

    assert decision.record is False
    assert decision.reason is Reason.SETTING_OFF
    assert decision.decided_by is Level.DEVICE
    assert steps(decision, direction.value) == [(Level.DEVICE, "off", True)]


@pytest.mark.parametrize("direction", list(Direction), ids=str)
def test_brief_example_2_device_inherit_user_on_takes_precedence(direction: Direction) -> None:
    """Example 2 from the brief, verbatim:

    "Device Setting -> Inherit, User Setting -> On, Customer Setting -> Off.
    Result: The call will be recorded. The device setting is inherit so the User setting
    will take precedence."
    """
    decision = decide(record_call(direction, device=INHERIT, user=ON, team=None, org_toggle=OFF))

    assert decision.record is True
    assert decision.reason is Reason.RECORDED
    assert decision.decided_by is Level.USER
    assert steps(decision, direction.value) == [
        (Level.DEVICE, "inherit", False),
        (Level.USER, "on", True),
    ]


# --- record / not record by the direction's toggle ------------------------------------------

# (device, user, team, org) -> (record, decided_by, levels consulted in order); None = absent.
TOGGLE_CASES = [
    pytest.param(
        (INHERIT, INHERIT, INHERIT, ON),
        (True, Level.ORG, [Level.DEVICE, Level.USER, Level.TEAM, Level.ORG]),
        id="all-inherit-org-on-records-decided-by-org",
    ),
    pytest.param(
        (INHERIT, INHERIT, INHERIT, OFF),
        (False, Level.ORG, [Level.DEVICE, Level.USER, Level.TEAM, Level.ORG]),
        id="all-inherit-org-off-not-recorded-decided-by-org",
    ),
    pytest.param(
        (OFF, ON, ON, ON),
        (False, Level.DEVICE, [Level.DEVICE]),
        id="device-off-beats-on-at-every-other-level",
    ),
    pytest.param(
        (ON, OFF, OFF, OFF),
        (True, Level.DEVICE, [Level.DEVICE]),
        id="device-on-beats-off-everywhere",
    ),
    pytest.param(
        (INHERIT, OFF, ON, ON),
        (False, Level.USER, [Level.DEVICE, Level.USER]),
        id="user-off-beats-team-and-org-on",
    ),
    pytest.param(
        (INHERIT, INHERIT, ON, OFF),
        (True, Level.TEAM, [Level.DEVICE, Level.USER, Level.TEAM]),
        id="team-on-decides-when-device-and-user-inherit",
    ),
    pytest.param(
        (INHERIT, INHERIT, OFF, ON),
        (False, Level.TEAM, [Level.DEVICE, Level.USER, Level.TEAM]),
        id="team-off-decides-when-device-and-user-inherit",
    ),
    pytest.param(
        (INHERIT, INHERIT, None, ON),
        (True, Level.ORG, [Level.DEVICE, Level.USER, Level.ORG]),
        id="no-primary-team-falls-through-to-org-on",
    ),
    pytest.param(
        (INHERIT, INHERIT, None, OFF),
        (False, Level.ORG, [Level.DEVICE, Level.USER, Level.ORG]),
        id="no-primary-team-falls-through-to-org-off",
    ),
    pytest.param(
        (None, ON, OFF, OFF),
        (True, Level.USER, [Level.USER]),
        id="reached-user-without-device-user-decides",
    ),
    pytest.param(
        (None, INHERIT, ON, OFF),
        (True, Level.TEAM, [Level.USER, Level.TEAM]),
        id="reached-user-without-device-falls-to-team",
    ),
    pytest.param(
        (None, INHERIT, INHERIT, ON),
        (True, Level.ORG, [Level.USER, Level.TEAM, Level.ORG]),
        id="reached-user-without-device-falls-to-org",
    ),
    pytest.param(
        (None, INHERIT, None, OFF),
        (False, Level.ORG, [Level.USER, Level.ORG]),
        id="reached-user-without-device-or-team-org-off",
    ),
]


@pytest.mark.parametrize("direction", list(Direction), ids=str)
@pytest.mark.parametrize(("chain", "expected"), TOGGLE_CASES)
def test_direction_toggle_resolves_device_user_team_org(
    direction: Direction,
    chain: tuple[Toggle | None, Toggle | None, Toggle | None, Toggle],
    expected: tuple[bool, Level, list[Level]],
) -> None:
    device, user, team, org_toggle = chain
    record, decided_by, consulted = expected

    decision = decide(record_call(direction, device, user, team, org_toggle))

    assert decision.record is record
    assert decision.reason is (Reason.RECORDED if record else Reason.SETTING_OFF)
    assert decision.decided_by is decided_by
    trace = steps(decision, direction.value)
    assert [lvl for lvl, _, _ in trace] == consulted
    assert [decisive for _, _, decisive in trace] == [False] * (len(consulted) - 1) + [True]
    assert trace[-1][1] == ("on" if record else "off")
    assert all(value == "inherit" for _, value, _ in trace[:-1])


def test_trace_carries_the_ref_of_each_level_consulted() -> None:
    decision = decide(record_call(IN, INHERIT, INHERIT, INHERIT, ON))

    assert [(s.level, s.ref) for s in decision.trace if s.aspect == "incoming"] == [
        (Level.DEVICE, "dev-1"),
        (Level.USER, "usr-1"),
        (Level.TEAM, "team-1"),
        (Level.ORG, "org-1"),
    ]


# --- gates: licence and reach ----------------------------------------------------------------


@pytest.mark.parametrize("direction", list(Direction), ids=str)
@pytest.mark.parametrize("with_device", [True, False], ids=["with-device", "user-only"])
def test_missing_licence_not_recorded_even_when_everything_is_on(
    direction: Direction, with_device: bool
) -> None:
    everything_on = {"incoming": ON, "outgoing": ON}
    ctx = call(
        direction,
        org_settings=org(**everything_on),
        device=level(Level.DEVICE, **everything_on) if with_device else None,
        user=level(Level.USER, **everything_on),
        team=level(Level.TEAM, **everything_on),
        licence=False,
    )

    decision = decide(ctx)

    assert decision.record is False
    assert decision.reason is Reason.NO_LICENCE
    assert decision.decided_by is Level.USER
    assert len(decision.trace) == 1
    (step,) = decision.trace
    assert (step.aspect, step.level, step.ref, step.decisive) == (
        "licence",
        Level.USER,
        "usr-1",
        True,
    )
    assert "licence" in step.value


@pytest.mark.parametrize("direction", list(Direction), ids=str)
@pytest.mark.parametrize("licence", [True, False], ids=["licensed", "unlicensed"])
def test_trunk_call_reaching_no_device_or_user_is_not_recorded(
    direction: Direction, licence: bool
) -> None:
    ctx = call(
        direction,
        org_settings=org(incoming=ON, outgoing=ON),
        team=level(Level.TEAM, incoming=ON, outgoing=ON),
        licence=licence,
    )

    decision = decide(ctx)

    assert decision.record is False
    assert decision.reason is Reason.NOT_REACHED
    assert decision.decided_by is Level.CALL
    assert [(s.aspect, s.level, s.decisive) for s in decision.trace] == [
        ("reached", Level.CALL, True)
    ]


# --- incoming and outgoing are independent ---------------------------------------------------


@pytest.mark.parametrize(
    ("device", "user", "org_settings", "expected"),
    [
        pytest.param(
            {"incoming": ON, "outgoing": OFF},
            {},
            {"incoming": OFF, "outgoing": ON},
            {IN: (True, Level.DEVICE), OUT: (False, Level.DEVICE)},
            id="device-incoming-on-outgoing-off",
        ),
        pytest.param(
            {},
            {"outgoing": ON},
            {"incoming": OFF, "outgoing": OFF},
            {IN: (False, Level.ORG), OUT: (True, Level.USER)},
            id="user-outgoing-on-leaves-incoming-to-org",
        ),
        pytest.param(
            {},
            {},
            {"incoming": OFF, "outgoing": ON},
            {IN: (False, Level.ORG), OUT: (True, Level.ORG)},
            id="org-incoming-off-outgoing-on",
        ),
    ],
)
def test_incoming_and_outgoing_toggles_are_independent(
    device: dict[str, Toggle],
    user: dict[str, Toggle],
    org_settings: dict[str, Toggle],
    expected: dict[Direction, tuple[bool, Level]],
) -> None:
    for direction, (record, decided_by) in expected.items():
        decision = decide(
            call(
                direction,
                org_settings=org(**org_settings),
                device=level(Level.DEVICE, **device),
                user=level(Level.USER, **user),
            )
        )
        assert (decision.record, decision.decided_by) == (record, decided_by), direction
        assert direction.value in aspects(decision)
        assert ({"incoming", "outgoing"} - {direction.value}).isdisjoint(aspects(decision))


# --- outgoing mode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_mode", "team_mode", "org_mode", "expected", "decided_by"),
    [
        pytest.param(
            OutgoingMode.INHERIT,
            OutgoingMode.ASK,
            OutgoingMode.RECORD_ALL,
            OutgoingMode.ASK,
            Level.TEAM,
            id="ask-inherited-from-team-over-org-record-all",
        ),
        pytest.param(
            OutgoingMode.INHERIT,
            OutgoingMode.RECORD_ALL,
            OutgoingMode.ASK,
            OutgoingMode.RECORD_ALL,
            Level.TEAM,
            id="record-all-inherited-from-team-over-org-ask",
        ),
        pytest.param(
            OutgoingMode.ASK,
            OutgoingMode.RECORD_ALL,
            OutgoingMode.RECORD_ALL,
            OutgoingMode.ASK,
            Level.USER,
            id="user-ask-overrides-team-record-all",
        ),
        pytest.param(
            OutgoingMode.INHERIT,
            OutgoingMode.INHERIT,
            OutgoingMode.ASK,
            OutgoingMode.ASK,
            Level.ORG,
            id="all-inherit-org-ask",
        ),
    ],
)
def test_outgoing_mode_resolves_down_the_chain(
    user_mode: OutgoingMode,
    team_mode: OutgoingMode,
    org_mode: OutgoingMode,
    expected: OutgoingMode,
    decided_by: Level,
) -> None:
    ctx = call(
        OUT,
        org_settings=org(outgoing=ON, outgoing_mode=org_mode),
        device=level(Level.DEVICE),
        user=level(Level.USER, outgoing_mode=user_mode),
        team=level(Level.TEAM, outgoing_mode=team_mode),
    )

    decision = decide(ctx)

    assert decision.record is True
    assert decision.outgoing_mode is expected
    mode_steps = steps(decision, "outgoing_mode")
    assert mode_steps[-1] == (decided_by, expected.value, True)
    assert sum(decisive for _, _, decisive in mode_steps) == 1


def _everything_configured(direction: Direction) -> CallContext:
    """A recorded call whose org sets every aspect to a non-default, observable value."""
    return call(
        direction,
        org_settings=org(
            incoming=ON,
            outgoing=ON,
            outgoing_mode=OutgoingMode.ASK,
            beep=BeepMode.ON,
            beep_interval_s=30,
            announcement=AnnouncementMode.PLAY,
            announcement_id="ann-org",
        ),
        device=level(Level.DEVICE),
        user=level(Level.USER),
    )


def test_outgoing_mode_not_resolved_for_incoming_calls() -> None:
    decision = decide(_everything_configured(IN))

    assert decision.record is True
    assert decision.outgoing_mode is None
    assert "outgoing_mode" not in aspects(decision)
    assert decision.announcement_id == "ann-org"


def test_announcement_not_resolved_for_outgoing_calls() -> None:
    decision = decide(_everything_configured(OUT))

    assert decision.record is True
    assert decision.announcement_id is None
    assert "announcement" not in aspects(decision)
    assert decision.outgoing_mode is OutgoingMode.ASK


# --- beep ------------------------------------------------------------------------------------

BEEP_ON, BEEP_OFF, BEEP_INHERIT = BeepMode.ON, BeepMode.OFF, BeepMode.INHERIT


@pytest.mark.parametrize("direction", list(Direction), ids=str)
@pytest.mark.parametrize(
    ("device", "user", "team", "org_beep", "expected", "decided_by"),
    [
        pytest.param(
            (BEEP_INHERIT, None),
            (BEEP_INHERIT, None),
            (BEEP_ON, 15),
            (BEEP_OFF, None),
            15,
            Level.TEAM,
            id="team-beep-on-15s-user-inherit-uses-team-interval",
        ),
        pytest.param(
            (BEEP_INHERIT, None),
            (BEEP_OFF, None),
            (BEEP_ON, 15),
            (BEEP_ON, 60),
            None,
            Level.USER,
            id="user-beep-off-below-team-on-gives-no-interval",
        ),
        pytest.param(
            (BEEP_ON, 30),
            (BEEP_ON, 45),
            (BEEP_ON, 15),
            (BEEP_ON, 60),
            30,
            Level.DEVICE,
            id="device-beep-on-uses-device-interval",
        ),
        pytest.param(
            (BEEP_INHERIT, None),
            (BEEP_INHERIT, None),
            (BEEP_INHERIT, None),
            (BEEP_ON, 120),
            120,
            Level.ORG,
            id="all-inherit-uses-org-interval",
        ),
        pytest.param(
            (BEEP_INHERIT, 7),
            (BEEP_INHERIT, 9),
            (BEEP_ON, 15),
            (BEEP_OFF, None),
            15,
            Level.TEAM,
            id="stale-interval-on-inheriting-level-ignored",
        ),
        pytest.param(
            (BEEP_OFF, 99),
            (BEEP_INHERIT, None),
            (BEEP_INHERIT, None),
            (BEEP_ON, 60),
            None,
            Level.DEVICE,
            id="stale-interval-on-device-off-ignored",
        ),
    ],
)
def test_beep_interval_comes_from_the_level_that_decided_beep(
    direction: Direction,
    device: tuple[BeepMode, int | None],
    user: tuple[BeepMode, int | None],
    team: tuple[BeepMode, int | None],
    org_beep: tuple[BeepMode, int | None],
    expected: int | None,
    decided_by: Level,
) -> None:
    def beep(lvl: Level, spec: tuple[BeepMode, int | None]) -> LevelSettings:
        return level(lvl, beep=spec[0], beep_interval_s=spec[1])

    ctx = call(
        direction,
        org_settings=org(incoming=ON, outgoing=ON, beep=org_beep[0], beep_interval_s=org_beep[1]),
        device=beep(Level.DEVICE, device),
        user=beep(Level.USER, user),
        team=beep(Level.TEAM, team),
    )

    decision = decide(ctx)

    assert decision.record is True
    assert decision.beep_interval_s == expected
    beep_steps = steps(decision, "beep")
    assert beep_steps[-1][0] is decided_by
    assert beep_steps[-1][1] == ("on" if expected is not None else "off")
    assert [decisive for _, _, decisive in beep_steps].count(True) == 1


# --- announcement ----------------------------------------------------------------------------

PLAY, NONE, ANN_INHERIT = AnnouncementMode.PLAY, AnnouncementMode.NONE, AnnouncementMode.INHERIT


@pytest.mark.parametrize(
    ("device", "user", "team", "org_ann", "expected", "decided_by"),
    [
        pytest.param(
            (ANN_INHERIT, None),
            (ANN_INHERIT, None),
            (ANN_INHERIT, None),
            (PLAY, "ann-org"),
            "ann-org",
            Level.ORG,
            id="all-inherit-plays-org-announcement",
        ),
        pytest.param(
            (ANN_INHERIT, None),
            (NONE, None),
            (ANN_INHERIT, None),
            (PLAY, "ann-org"),
            None,
            Level.USER,
            id="none-at-user-overrides-play-at-org",
        ),
        pytest.param(
            (ANN_INHERIT, None),
            (ANN_INHERIT, None),
            (PLAY, "ann-team"),
            (PLAY, "ann-org"),
            "ann-team",
            Level.TEAM,
            id="team-play-id-beats-org-play-id",
        ),
        pytest.param(
            (PLAY, "ann-dev"),
            (NONE, None),
            (ANN_INHERIT, None),
            (NONE, None),
            "ann-dev",
            Level.DEVICE,
            id="device-play-beats-user-none",
        ),
        pytest.param(
            (ANN_INHERIT, "stale-dev"),
            (ANN_INHERIT, "stale-user"),
            (ANN_INHERIT, None),
            (PLAY, "ann-org"),
            "ann-org",
            Level.ORG,
            id="stale-id-on-inheriting-level-ignored",
        ),
    ],
)
def test_announcement_id_comes_from_the_level_that_decided_announcement(
    device: tuple[AnnouncementMode, str | None],
    user: tuple[AnnouncementMode, str | None],
    team: tuple[AnnouncementMode, str | None],
    org_ann: tuple[AnnouncementMode, str | None],
    expected: str | None,
    decided_by: Level,
) -> None:
    def ann(lvl: Level, spec: tuple[AnnouncementMode, str | None]) -> LevelSettings:
        return level(lvl, announcement=spec[0], announcement_id=spec[1])

    ctx = call(
        IN,
        org_settings=org(incoming=ON, announcement=org_ann[0], announcement_id=org_ann[1]),
        device=ann(Level.DEVICE, device),
        user=ann(Level.USER, user),
        team=ann(Level.TEAM, team),
    )

    decision = decide(ctx)

    assert decision.record is True
    assert decision.announcement_id == expected
    ann_steps = steps(decision, "announcement")
    assert ann_steps[-1][0] is decided_by
    assert ann_steps[-1][1] == ("play" if expected is not None else "none")
    assert [decisive for _, _, decisive in ann_steps].count(True) == 1


# --- not-recorded decisions and explain() ----------------------------------------------------


def _not_recorded_context(case: str, direction: Direction) -> CallContext:
    ctx = _everything_configured(direction)
    if case == "setting-off":
        return call(
            direction,
            org_settings=ctx.org,
            device=level(Level.DEVICE, incoming=OFF, outgoing=OFF),
            user=ctx.user,
        )
    if case == "no-licence":
        return call(
            direction, org_settings=ctx.org, device=ctx.device, user=ctx.user, licence=False
        )
    assert case == "not-reached"
    return call(direction, org_settings=ctx.org)


@pytest.mark.parametrize("direction", list(Direction), ids=str)
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        pytest.param("setting-off", Reason.SETTING_OFF, id="setting-off"),
        pytest.param("no-licence", Reason.NO_LICENCE, id="no-licence"),
        pytest.param("not-reached", Reason.NOT_REACHED, id="not-reached"),
    ],
)
def test_not_recorded_decisions_carry_no_mode_beep_or_announcement(
    direction: Direction, case: str, reason: Reason
) -> None:
    decision = decide(_not_recorded_context(case, direction))

    assert decision.record is False
    assert decision.reason is reason
    assert decision.outgoing_mode is None
    assert decision.beep_interval_s is None
    assert decision.announcement_id is None
    assert aspects(decision) <= RECORD_ASPECTS


@pytest.mark.parametrize(
    ("ctx", "record", "decided_by"),
    [
        pytest.param(
            record_call(IN, device=OFF, user=ON, team=ON, org_toggle=ON),
            False,
            Level.DEVICE,
            id="device-off",
        ),
        pytest.param(
            record_call(IN, device=INHERIT, user=ON, team=OFF, org_toggle=OFF),
            True,
            Level.USER,
            id="user-on",
        ),
        pytest.param(
            record_call(OUT, device=INHERIT, user=INHERIT, team=ON, org_toggle=OFF),
            True,
            Level.TEAM,
            id="team-on",
        ),
        pytest.param(
            record_call(OUT, device=INHERIT, user=INHERIT, team=INHERIT, org_toggle=OFF),
            False,
            Level.ORG,
            id="org-off",
        ),
        pytest.param(
            call(IN, org_settings=org(incoming=ON), device=level(Level.DEVICE), licence=False),
            False,
            Level.USER,
            id="no-licence",
        ),
        pytest.param(call(OUT, org_settings=org(outgoing=ON)), False, Level.CALL, id="trunk"),
    ],
)
def test_explain_mentions_the_deciding_level(
    ctx: CallContext, record: bool, decided_by: Level
) -> None:
    decision = decide(ctx)
    assert (decision.record, decision.decided_by) == (record, decided_by)

    text = decision.explain()

    assert re.search(rf"\b{decided_by.value}\b", text), text
    assert ("not recorded" in text) is (not record), text
    if decided_by is not Level.CALL:
        others = {Level.DEVICE, Level.USER, Level.TEAM, Level.ORG} - {decided_by}
        assert not any(re.search(rf"\b{o.value}\b", text) for o in others), text
