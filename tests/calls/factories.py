"""Calls for report tests, made through CallService (so team tagging is the real one), with
recordings in a chosen state added to their first segment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from callrec.access.rules import PlaybackScope
from callrec.calls.schemas import CallCreate, ParticipantIn, SegmentIn
from callrec.calls.service import CallService
from callrec.models import Call, CallDirection, Recording, RecordingState, Team, User, team_members
from tests.directory.factories import World, make_user

# FakeClock's default "now".
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_call(
    session: Session,
    world: World,
    external_id: str,
    *,
    users: tuple[str, ...] = ("alice",),
    direction: CallDirection = CallDirection.INBOUND,
    start: datetime = NOW - timedelta(hours=1),
    ring_s: float = 5.0,
    talk_s: float | None = 60.0,
    ended: bool = True,
    from_number: str = "+441632960000",
    to_number: str = "201",
    teams: tuple[str, ...] = (),
    recording: RecordingState | None = None,
    flags: tuple[str, ...] = (),
    conference: tuple[str, ...] = (),
) -> Call:
    """``talk_s=None``: never answered (ended after ``ring_s``); ``ended=False``: in progress.
    ``conference``: users who joined 30 s into the call (participants, not segments)."""
    answered = None if talk_s is None else start + timedelta(seconds=ring_s)
    end = start + timedelta(seconds=ring_s + (talk_s or 0.0)) if ended else None
    data = CallCreate(
        external_id=external_id,
        direction=direction,
        from_number=from_number,
        to_number=to_number,
        started_at=start,
        answered_at=answered,
        ended_at=end,
        team_ids=[world.teams[t].id for t in teams],
        segments=[
            SegmentIn(sequence=i + 1, user_id=world.users[u].id, started_at=start, ended_at=end)
            for i, u in enumerate(users)
        ],
        participants=[
            ParticipantIn(
                user_id=world.users[u].id,
                name=u.title(),
                joined_at=start + timedelta(seconds=30),
                left_at=end,
            )
            for u in conference
        ],
    )
    call, _ = CallService(session).create(None, world.org.id, data)
    if recording is not None:
        session.add(
            Recording(
                org_id=world.org.id,
                call_id=call.id,
                segment_id=call.segments[0].id,
                state=recording,
                quality_flags=list(flags),
            )
        )
    session.flush()
    return call


def add_team(session: Session, world: World, name: str) -> Team:
    team = Team(org_id=world.org.id, name=name)
    session.add(team)
    session.flush()
    world.teams[name] = team
    return team


def add_user(
    session: Session,
    world: World,
    key: str,
    playback: PlaybackScope,
    team: str | None = None,
    members: tuple[str, ...] = (),
) -> User:
    user = make_user(
        session,
        world.org,
        key,
        team=world.teams[team] if team else None,
        playback=playback,
        licence=False,
    )
    for member in members:
        session.execute(
            insert(team_members).values(team_id=world.teams[member].id, user_id=user.id)
        )
    session.flush()
    world.users[key] = user
    return user
