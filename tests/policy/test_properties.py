"""Property tests for the recording decision over arbitrary settings chains."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.policy import (
    AnnouncementMode,
    BeepMode,
    CallContext,
    Direction,
    Level,
    LevelSettings,
    OutgoingMode,
    Step,
    Toggle,
    decide,
)

RECORD_ASPECTS = frozenset({"reached", "licence", "incoming", "outgoing"})
BEEP_MIN, BEEP_MAX = 5, 600

intervals = st.integers(min_value=BEEP_MIN, max_value=BEEP_MAX)
# A level whose beep is not ON may still carry a stale interval, even an out-of-range one.
stale_intervals = st.none() | st.integers(min_value=-10, max_value=10_000)
announcement_ids = st.text(alphabet="abcdefghij-0123456789", min_size=1, max_size=8)


@st.composite
def any_level(draw: st.DrawFn, ref: str) -> LevelSettings:
    """Device/user/team settings: any value, inherit included."""
    beep = draw(st.sampled_from(BeepMode))
    return LevelSettings(
        incoming=draw(st.sampled_from(Toggle)),
        outgoing=draw(st.sampled_from(Toggle)),
        outgoing_mode=draw(st.sampled_from(OutgoingMode)),
        beep=beep,
        beep_interval_s=draw(intervals if beep is BeepMode.ON else stale_intervals),
        announcement=draw(st.sampled_from(AnnouncementMode)),
        announcement_id=draw(st.none() | announcement_ids),
        ref=draw(st.none() | st.just(ref)),
    )


@st.composite
def valid_org(draw: st.DrawFn) -> LevelSettings:
    """The root: never inherits; beep on has an interval, play has an announcement id."""
    beep = draw(st.sampled_from([BeepMode.ON, BeepMode.OFF]))
    announcement = draw(st.sampled_from([AnnouncementMode.PLAY, AnnouncementMode.NONE]))
    return LevelSettings(
        incoming=draw(st.sampled_from([Toggle.ON, Toggle.OFF])),
        outgoing=draw(st.sampled_from([Toggle.ON, Toggle.OFF])),
        outgoing_mode=draw(st.sampled_from([OutgoingMode.RECORD_ALL, OutgoingMode.ASK])),
        beep=beep,
        beep_interval_s=draw(intervals) if beep is BeepMode.ON else None,
        announcement=announcement,
        announcement_id=(draw(announcement_ids) if announcement is AnnouncementMode.PLAY else None),
        ref="org-1",
    )


contexts = st.builds(
    CallContext,
    direction=st.sampled_from(Direction),
    org=valid_org(),
    has_licence=st.booleans(),
    user=st.none() | any_level("usr-1"),
    device=st.none() | any_level("dev-1"),
    team=st.none() | any_level("team-1"),
)


def chain(ctx: CallContext) -> list[LevelSettings]:
    levels = [ctx.device, ctx.user, ctx.team, ctx.org]
    return [s for s in levels if s is not None]


def by_aspect(trace: tuple[Step, ...]) -> dict[str, list[Step]]:
    grouped: dict[str, list[Step]] = defaultdict(list)
    for step in trace:
        grouped[step.aspect].append(step)
    return grouped


@settings(max_examples=300)
@given(contexts)
def test_decision_is_explained_by_exactly_one_decisive_record_step(ctx: CallContext) -> None:
    decision = decide(ctx)

    decisive = [s for s in decision.trace if s.decisive and s.aspect in RECORD_ASPECTS]

    assert len(decisive) == 1, decision.trace
    assert decisive[0].level is decision.decided_by


@settings(max_examples=300)
@given(contexts)
def test_each_aspect_has_one_decisive_step_and_it_is_the_last(ctx: CallContext) -> None:
    decision = decide(ctx)

    grouped = by_aspect(decision.trace)

    assert grouped, "the trace is never empty"
    for aspect, aspect_steps in grouped.items():
        assert [s.decisive for s in aspect_steps].count(True) == 1, aspect
        assert aspect_steps[-1].decisive, aspect


@settings(max_examples=300)
@given(contexts)
def test_record_iff_reached_licensed_and_first_non_inherit_toggle_is_on(
    ctx: CallContext,
) -> None:
    reached = ctx.device is not None or ctx.user is not None
    first_set = next(
        s.toggle(ctx.direction) for s in chain(ctx) if s.toggle(ctx.direction) != Toggle.INHERIT
    )
    expected = reached and ctx.has_licence and first_set is Toggle.ON

    assert decide(ctx).record is expected


@given(contexts)
def test_decide_is_deterministic(ctx: CallContext) -> None:
    first = decide(ctx)

    assert decide(ctx) == first
    assert decide(dataclasses.replace(ctx)) == first


@settings(max_examples=300)
@given(contexts)
def test_recorded_beep_interval_is_none_or_within_bounds(ctx: CallContext) -> None:
    decision = decide(ctx)

    if decision.record:
        interval = decision.beep_interval_s
        assert interval is None or BEEP_MIN <= interval <= BEEP_MAX, interval
        assert decision.decided_by in {Level.DEVICE, Level.USER, Level.TEAM, Level.ORG}
