"""Plain data the recording policy reads and returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

BEEP_MIN_INTERVAL_S = 5
BEEP_MAX_INTERVAL_S = 600


class Toggle(StrEnum):
    ON = "on"
    OFF = "off"
    INHERIT = "inherit"


class OutgoingMode(StrEnum):
    RECORD_ALL = "record_all"
    ASK = "ask"
    INHERIT = "inherit"


class BeepMode(StrEnum):
    ON = "on"
    OFF = "off"
    INHERIT = "inherit"


class AnnouncementMode(StrEnum):
    PLAY = "play"
    NONE = "none"
    INHERIT = "inherit"


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class Level(StrEnum):
    """Where a value came from. ``call`` is the call itself (it never reached a user)."""

    CALL = "call"
    DEVICE = "device"
    USER = "user"
    TEAM = "team"
    ORG = "org"


class Reason(StrEnum):
    RECORDED = "recorded"
    SETTING_OFF = "setting_off"
    NO_LICENCE = "no_licence"
    NOT_REACHED = "not_reached"


@dataclass(frozen=True, slots=True)
class LevelSettings:
    """The recording settings stored at one level (org, team, user or device)."""

    incoming: Toggle = Toggle.INHERIT
    outgoing: Toggle = Toggle.INHERIT
    outgoing_mode: OutgoingMode = OutgoingMode.INHERIT
    beep: BeepMode = BeepMode.INHERIT
    beep_interval_s: int | None = None
    announcement: AnnouncementMode = AnnouncementMode.INHERIT
    announcement_id: str | None = None
    ref: str | None = None  # id of the org/team/user/device, carried into the trace

    def toggle(self, direction: Direction) -> Toggle:
        return self.incoming if direction is Direction.INCOMING else self.outgoing


ORG_DEFAULTS = LevelSettings(
    incoming=Toggle.OFF,
    outgoing=Toggle.OFF,
    outgoing_mode=OutgoingMode.RECORD_ALL,
    beep=BeepMode.OFF,
    announcement=AnnouncementMode.NONE,
)


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the policy knows about one side of a call.

    ``device`` and ``user`` are the device and user the call reached; both ``None`` when the
    call ended at a trunk, an IVR or a queue. ``team`` is the user's primary team, if any.
    """

    direction: Direction
    org: LevelSettings
    has_licence: bool = False
    user: LevelSettings | None = None
    device: LevelSettings | None = None
    team: LevelSettings | None = None


class Step(NamedTuple):
    """One line of the trace: a level consulted for one aspect, and whether it decided.

    A NamedTuple rather than a frozen dataclass: a recorded decision builds up to a dozen of
    these, and tuple construction is several times cheaper on the hot path."""

    aspect: str
    level: Level
    ref: str | None
    value: str
    decisive: bool


@dataclass(frozen=True, slots=True)
class Decision:
    record: bool
    reason: Reason
    decided_by: Level
    direction: Direction
    outgoing_mode: OutgoingMode | None
    beep_interval_s: int | None
    announcement_id: str | None
    trace: tuple[Step, ...]

    def explain(self) -> str:
        """One sentence for logs and the UI."""
        step = next(s for s in self.trace if s.decisive and s.aspect in _RECORD_ASPECTS)
        verdict = "recorded" if self.record else "not recorded"
        return f"{self.direction} call {verdict}: {step.aspect} is {step.value} at {step.level}"


_RECORD_ASPECTS = frozenset({"reached", "licence", "incoming", "outgoing"})
RECORD_ASPECTS = _RECORD_ASPECTS
