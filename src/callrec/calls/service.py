"""Creating call history (from our SIP capture or a PBX's ingest). Never commits."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.rules import Actor, can_administer_directory
from callrec.calls.repository import CallRepository
from callrec.calls.schemas import CallCreate, SegmentIn
from callrec.directory.repository import DeviceRepository, TeamRepository, UserRepository
from callrec.kit.errors import Conflict, NotFound
from callrec.models import Call, Participant, Segment, Team


class CallService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.calls = CallRepository(session)
        self.teams = TeamRepository(session)
        self.users = UserRepository(session)
        self.devices = DeviceRepository(session)

    def get(self, actor: Actor, call_id: uuid.UUID) -> Call:
        require(can_administer_directory(actor, actor.org_id))
        return self.calls.get_full(actor.org_id, call_id)

    def create(self, actor: Actor | None, org_id: uuid.UUID, data: CallCreate) -> tuple[Call, bool]:
        """Idempotent on the external id: the same call sent twice is created once.
        Returns (call, created)."""
        if actor is not None:
            require(can_administer_directory(actor, org_id))
        existing = self.calls.by_external_id(org_id, data.external_id)
        if existing is not None:
            return existing, False
        teams = self.teams.many_in_org(org_id, data.team_ids)
        call = Call(
            org_id=org_id,
            external_id=data.external_id,
            direction=data.direction,
            from_number=data.from_number,
            to_number=data.to_number,
            started_at=data.started_at,
            answered_at=data.answered_at,
            ended_at=data.ended_at,
            teams=teams,
            segments=[],
            participants=[],
        )
        for seg in sorted(data.segments, key=lambda s: s.sequence):
            call.segments.append(self._segment(org_id, seg))
        for p in data.participants:
            if p.user_id is not None:
                self.users.get_in_org(org_id, p.user_id)
            call.participants.append(Participant(org_id=org_id, **p.model_dump()))
        self._participants_from_segments(call)
        self.tag_primary_teams(call)
        self.session.add(call)
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as exc:
            # Two ingests of the same call raced; the other one won. Same answer as a repeat.
            winner = self.calls.by_external_id(org_id, data.external_id)
            if winner is None:
                raise Conflict("the call could not be stored", details={}) from exc
            return winner, False
        return call, True

    def _segment(self, org_id: uuid.UUID, seg: SegmentIn) -> Segment:
        user_id, device_id = seg.user_id, seg.device_id
        if seg.extension is not None:
            device = self.devices.by_extension(org_id, seg.extension)
            user = None if device else self.users.by_extension(org_id, seg.extension)
            if device is None and user is None:
                raise NotFound(f"no device or user with extension {seg.extension}")
            device_id = device.id if device else None
            user_id = device.user_id if device else (user.id if user else None)
        if device_id is not None:
            device = self.devices.get_in_org(org_id, device_id)
            user_id = user_id or device.user_id
        if user_id is not None:
            self.users.get_in_org(org_id, user_id)
        return Segment(
            org_id=org_id,
            sequence=seg.sequence,
            user_id=user_id,
            device_id=device_id,
            reason=seg.reason,
            started_at=seg.started_at,
            ended_at=seg.ended_at,
        )

    def _participants_from_segments(self, call: Call) -> None:
        """Everyone on a segment took part in the call ("own calls" playback relies on it)."""
        listed = {p.user_id for p in call.participants if p.user_id}
        for seg in call.segments:
            if seg.user_id is None or seg.user_id in listed:
                continue
            user = self.users.get_in_org(call.org_id, seg.user_id)
            call.participants.append(
                Participant(
                    org_id=call.org_id,
                    user_id=user.id,
                    name=user.display_name,
                    address=user.extension or user.email,
                    joined_at=seg.started_at,
                    left_at=seg.ended_at,
                )
            )
            listed.add(user.id)

    def tag_primary_teams(self, call: Call) -> None:
        """A call is tagged with the primary team of every user on it, so "primary group" and
        "member groups" playback scopes find it. Run at ingest, and again when a segment adds
        someone (a transfer)."""
        tagged = {t.id for t in call.teams}
        user_ids = {s.user_id for s in call.segments if s.user_id} | {
            p.user_id for p in call.participants if p.user_id
        }
        for user_id in user_ids:
            user = self.users.get_in_org(call.org_id, user_id)
            if user.primary_team_id and user.primary_team_id not in tagged:
                team = self.session.get(Team, user.primary_team_id)
                if team is not None:
                    call.teams.append(team)
                    tagged.add(team.id)
