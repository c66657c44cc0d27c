"""The recording policy: pure functions over plain data (no I/O, no framework)."""

from callrec.policy.decision import decide
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

__all__ = [
    "AnnouncementMode",
    "BeepMode",
    "CallContext",
    "Decision",
    "Direction",
    "Level",
    "LevelSettings",
    "OutgoingMode",
    "Reason",
    "Step",
    "Toggle",
    "decide",
]
