"""How calls get their team tags (docs/reports.md), and what the scopes then see."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.access.rules import PlaybackScope
from callrec.calls.schemas import CallCreate, SegmentIn
from callrec.calls.service import CallService
from callrec.kit.errors import NotFound
from callrec.models import Call, CallDirection, User, call_teams
from tests.calls.factories import NOW, add_team, add_user, make_call
from tests.directory.factories import World


def _tags(session: Session, call: Call, world: World) -> set[str]:
    ids = set(session.scalars(select(call_teams.c.team_id).where(call_teams.c.call_id == call.id)))
    return {name for name, team in world.teams.items() if team.id in ids}


def test_only_each_users_primary_team_is_tagged(session: Session, world: World) -> None:
    # dora: primary sales, also a member of support — the call is tagged sales only.
    add_user(session, world, "dora", PlaybackScope.OWN, team="sales", members=("support",))
    call = make_call(session, world, "c1", users=("dora",))
    assert _tags(session, call, world) == {"sales"}


def test_every_user_on_the_call_adds_their_primary_team_once(
    session: Session, world: World
) -> None:
    add_team(session, world, "billing")
    add_user(session, world, "erin", PlaybackScope.OWN, team="billing")
    call = make_call(
        session, world, "c1", users=("alice", "bob", "supervisor"), conference=("erin",)
    )
    # alice and the supervisor are both sales: one tag; bob support; erin (conference) billing
    assert _tags(session, call, world) == {"sales", "support", "billing"}


def test_users_without_a_primary_team_add_nothing_and_ingest_teams_are_kept(
    session: Session, world: World
) -> None:
    assert _tags(session, make_call(session, world, "c1", users=("carol",)), world) == set()
    tagged = make_call(session, world, "c2", users=("carol",), teams=("support",))
    assert _tags(session, tagged, world) == {"support"}
    both = make_call(session, world, "c3", users=("alice",), teams=("sales",))
    assert _tags(session, both, world) == {"sales"}


def test_another_orgs_team_cannot_be_tagged(
    session: Session, world: World, other_world: World
) -> None:
    data = CallCreate(
        external_id="x",
        direction=CallDirection.INBOUND,
        started_at=NOW,
        team_ids=[other_world.teams["sales"].id],
        segments=[SegmentIn(sequence=1, user_id=world.users["alice"].id, started_at=NOW)],
    )
    with pytest.raises(NotFound):
        CallService(session).create(None, world.org.id, data)


def test_tags_are_a_snapshot_at_creation(
    client: TestClient, session: Session, world: World, as_user: Any
) -> None:
    add_user(session, world, "lead", PlaybackScope.PRIMARY_GROUP, team="sales")
    add_user(session, world, "sup2", PlaybackScope.PRIMARY_GROUP, team="support")
    make_call(session, world, "before", users=("alice",), start=NOW - timedelta(hours=2))
    alice = session.get(User, world.users["alice"].id)
    assert alice is not None
    alice.primary_team_id = world.teams["support"].id  # alice moves to support
    make_call(session, world, "after", users=("alice",), start=NOW - timedelta(hours=1))
    session.commit()

    def seen(viewer: str) -> set[str]:
        rows = client.get("/api/v1/reports/calls", headers=as_user(viewer)).json()["items"]
        return {r["external_id"] for r in rows}

    assert seen("lead") == {"before"}  # the sales call stays with sales
    assert seen("sup2") == {"after"}
    assert seen("alice") == {"before", "after"}  # both are her own calls


def test_member_groups_sees_tags_of_every_team_but_not_untagged_memberships(
    client: TestClient, session: Session, world: World, as_user: Any
) -> None:
    add_user(session, world, "dora", PlaybackScope.OWN, team="sales", members=("support",))
    add_user(session, world, "watcher", PlaybackScope.MEMBER_GROUPS, team="support")
    make_call(session, world, "dora-call", users=("dora",))  # tagged sales only
    make_call(session, world, "bob-call", users=("bob",))  # tagged support
    session.commit()
    rows = client.get("/api/v1/reports/calls", headers=as_user("watcher")).json()["items"]
    assert {r["external_id"] for r in rows} == {"bob-call"}
    assert uuid.UUID(rows[0]["team_ids"][0]) == world.teams["support"].id
