"""The recording decision: device → user → the user's primary team → org.

Each aspect (record this direction, outgoing mode, beep, announcement) is resolved on its own:
the first level whose value is not ``inherit`` decides it. The org is the root and never
inherits, so every aspect is decided by exactly one level, which the trace marks.
"""

from __future__ import annotations

from typing import Any

from callrec.policy.types import (
    AnnouncementMode,
    BeepMode,
    CallContext,
    Decision,
    Direction,
    Level,
    LevelSettings,
    OutgoingMode,
    Reason,
    Step,
    Toggle,
)

_INHERIT = "inherit"
_Chain = tuple[tuple[Level, LevelSettings], ...]


def decide(ctx: CallContext) -> Decision:
    if ctx.user is None and ctx.device is None:
        step = Step("reached", Level.CALL, None, "no device or user", decisive=True)
        return _not_recorded(ctx, Reason.NOT_REACHED, Level.CALL, (step,))

    if not ctx.has_licence:
        ref = ctx.user.ref if ctx.user is not None else None
        step = Step("licence", Level.USER, ref, "no call recording licence", decisive=True)
        return _not_recorded(ctx, Reason.NO_LICENCE, Level.USER, (step,))

    chain = _chain(ctx)
    aspect = ctx.direction.value
    trace: list[Step] = []
    toggle, decided_by = _resolve(chain, aspect, trace)
    if toggle is not Toggle.ON:
        return _not_recorded(ctx, Reason.SETTING_OFF, decided_by, tuple(trace))

    mode: OutgoingMode | None = None
    if ctx.direction is Direction.OUTGOING:
        mode, _ = _resolve(chain, "outgoing_mode", trace)

    beep_interval: int | None = None
    beep, beep_level = _resolve(chain, "beep", trace)
    if beep is BeepMode.ON:
        beep_interval = _settings_at(chain, beep_level).beep_interval_s

    announcement_id: str | None = None
    if ctx.direction is Direction.INCOMING:
        ann, ann_level = _resolve(chain, "announcement", trace)
        if ann is AnnouncementMode.PLAY:
            announcement_id = _settings_at(chain, ann_level).announcement_id

    return Decision(
        record=True,
        reason=Reason.RECORDED,
        decided_by=decided_by,
        direction=ctx.direction,
        outgoing_mode=mode,
        beep_interval_s=beep_interval,
        announcement_id=announcement_id,
        trace=tuple(trace),
    )


def _chain(ctx: CallContext) -> _Chain:
    levels: list[tuple[Level, LevelSettings]] = []
    if ctx.device is not None:
        levels.append((Level.DEVICE, ctx.device))
    if ctx.user is not None:
        levels.append((Level.USER, ctx.user))
    if ctx.team is not None:
        levels.append((Level.TEAM, ctx.team))
    levels.append((Level.ORG, ctx.org))
    return tuple(levels)


def _resolve(chain: _Chain, aspect: str, trace: list[Step]) -> tuple[Any, Level]:
    """The first non-inherit value of ``aspect`` (a LevelSettings field name) down the chain."""
    for level, settings in chain:
        value = getattr(settings, aspect)
        decisive = value != _INHERIT or level is Level.ORG
        trace.append(Step(aspect, level, settings.ref, value.value, decisive))
        if decisive:
            return value, level
    raise AssertionError("unreachable: the org level always decides")  # pragma: no cover


def _settings_at(chain: _Chain, level: Level) -> LevelSettings:
    return next(settings for lvl, settings in chain if lvl is level)


def _not_recorded(
    ctx: CallContext, reason: Reason, level: Level, trace: tuple[Step, ...]
) -> Decision:
    return Decision(
        record=False,
        reason=reason,
        decided_by=level,
        direction=ctx.direction,
        outgoing_mode=None,
        beep_interval_s=None,
        announcement_id=None,
        trace=trace,
    )
