"""The call session view: one call's segments, participants and the recordings the viewer may
play (the brief's "Call Session click through"). Never commits.

What the viewer gets depends on the access rules only:
- the call invisible to them (another org, or outside their scope and not theirs) → NotFound;
- visible but not playable (e.g. their own call without playback permission) → the call
  without any recordings section, exactly as for a call that was not recorded;
- playable → every recording of the call with its consent evidence; org admins also get the
  recording decision trace.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.access.rules import Actor, can_play, can_see_decision_trace, can_view_call
from callrec.calls.repository import CallRepository
from callrec.kit.errors import NotFound
from callrec.models import Call, Device, Recording, User
from callrec.recordings.playback_service import call_facts


@dataclass(frozen=True, slots=True)
class SessionView:
    call: Call
    users: dict[uuid.UUID, User]
    devices: dict[uuid.UUID, Device]
    # None: no recordings section (not recorded, or not the viewer's to play).
    recordings: Sequence[Recording] | None
    show_trace: bool


class SessionViewService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.calls = CallRepository(session)

    def view(self, actor: Actor, call_id: uuid.UUID) -> SessionView:
        call = self.calls.get_full(actor.org_id, call_id)
        facts = call_facts(self.session, call)
        if can_view_call(actor, facts) is not True:
            # Same answer as a missing call: the viewer learns nothing about calls not theirs.
            raise NotFound(f"call {call_id} not found", details={"id": str(call_id)})
        recordings: Sequence[Recording] | None = None
        if can_play(actor, facts) is True:
            recordings = self._recordings(call) or None
        return SessionView(
            call=call,
            users=self._users(call),
            devices=self._devices(call),
            recordings=recordings,
            show_trace=can_see_decision_trace(actor, call.org_id) is True,
        )

    def _recordings(self, call: Call) -> Sequence[Recording]:
        return self.session.scalars(
            select(Recording).where(Recording.call_id == call.id, Recording.org_id == call.org_id)
        ).all()

    def _users(self, call: Call) -> dict[uuid.UUID, User]:
        ids = {s.user_id for s in call.segments if s.user_id} | {
            p.user_id for p in call.participants if p.user_id
        }
        if not ids:
            return {}
        rows = self.session.scalars(select(User).where(User.id.in_(ids))).all()
        return {u.id: u for u in rows}

    def _devices(self, call: Call) -> dict[uuid.UUID, Device]:
        ids = {s.device_id for s in call.segments if s.device_id}
        if not ids:
            return {}
        rows = self.session.scalars(select(Device).where(Device.id.in_(ids))).all()
        return {d.id: d for d in rows}
