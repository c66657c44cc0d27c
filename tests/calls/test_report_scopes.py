"""Report rows follow the playback scope: own / primary group / member groups / all; org
admins see every call of their org; another org's calls never appear."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callrec.access.rules import PlaybackScope
from callrec.models import RecordingState
from tests.calls.factories import add_team, add_user, make_call
from tests.directory.factories import World

READY = RecordingState.READY


@pytest.fixture
def scoped(session: Session, world: World, other_world: World) -> World:
    """Calls: alice's (sales), bob's (support), dave's (billing), a support call of bob that
    alice joined as a conference participant, nobody's own call, and one in another org."""
    add_team(session, world, "billing")
    add_user(session, world, "dave", PlaybackScope.OWN, team="billing")
    add_user(session, world, "pg", PlaybackScope.PRIMARY_GROUP, team="sales")
    add_user(session, world, "mg", PlaybackScope.MEMBER_GROUPS, team="support", members=("sales",))
    add_user(session, world, "nobody", PlaybackScope.NONE)
    add_user(session, world, "everything", PlaybackScope.ALL)
    make_call(session, world, "alice-1", users=("alice",), recording=READY)
    make_call(session, world, "bob-1", users=("bob",), recording=READY)
    make_call(session, world, "dave-1", users=("dave",), recording=READY)
    make_call(session, world, "conf-1", users=("bob",), conference=("alice",), recording=READY)
    make_call(session, world, "nobody-1", users=("nobody",), recording=READY)
    make_call(session, other_world, "other-1", users=("alice",), recording=READY)
    session.commit()
    return world


def _rows(
    client: TestClient, headers: dict[str, str], path: str = "/api/v1/reports/calls"
) -> list[dict[str, Any]]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("alice", {"alice-1", "conf-1"}),  # own, and the conference she joined
        ("pg", {"alice-1", "conf-1"}),  # tagged sales (alice's primary team)
        ("mg", {"alice-1", "bob-1", "conf-1"}),  # sales and support
        ("dave", {"dave-1"}),
        ("nobody", {"nobody-1"}),  # no playback permission: own calls only
        ("supervisor", set()),  # scope own, took part in nothing
        ("everything", {"alice-1", "bob-1", "dave-1", "conf-1", "nobody-1"}),
        ("admin", {"alice-1", "bob-1", "dave-1", "conf-1", "nobody-1"}),
    ],
)
def test_rows_follow_the_playback_scope(
    client: TestClient, scoped: World, as_user: Any, viewer: str, expected: set[str]
) -> None:
    rows = _rows(client, as_user(viewer))
    assert {r["external_id"] for r in rows} == expected


@pytest.mark.parametrize(
    ("viewer", "playable"),
    [
        ("alice", {"alice-1", "conf-1"}),
        ("mg", {"alice-1", "bob-1", "conf-1"}),
        ("nobody", set()),  # sees the call, but no recording icon
        ("admin", {"alice-1", "bob-1", "dave-1", "conf-1", "nobody-1"}),
    ],
)
def test_each_row_says_whether_the_viewer_may_play_it(
    client: TestClient, scoped: World, as_user: Any, viewer: str, playable: set[str]
) -> None:
    rows = _rows(client, as_user(viewer))
    assert {r["external_id"] for r in rows if r["has_playable_recording"]} == playable
    assert all(r["playable_recordings"] == (1 if r["external_id"] in playable else 0) for r in rows)


def test_an_admin_without_playback_sees_rows_but_no_recording(
    client: TestClient, session: Session, scoped: World, as_user: Any
) -> None:
    from callrec.access.rules import Role
    from tests.directory.factories import make_user

    scoped.users["admin2"] = make_user(
        session,
        scoped.org,
        "admin2",
        role=Role.ORG_ADMIN,
        playback=PlaybackScope.NONE,
        licence=False,
    )
    session.commit()
    rows = _rows(client, as_user("admin2"))
    assert len(rows) == 5
    assert not any(r["has_playable_recording"] for r in rows)


def test_another_orgs_calls_never_appear(
    client: TestClient, scoped: World, other_world: World, as_user: Any
) -> None:
    add = as_user("admin", other_world)
    rows = _rows(client, add)
    assert {r["external_id"] for r in rows} == {"other-1"}
    for viewer in ("admin", "alice", "everything"):
        ids = {r["external_id"] for r in _rows(client, as_user(viewer))}
        assert "other-1" not in ids
    # Filtering on the other org's team or user finds nothing either.
    team = other_world.teams["sales"].id
    response = client.get(f"/api/v1/reports/calls?team_id={team}", headers=as_user("admin"))
    assert response.json()["items"] == []


def test_unified_history_is_the_viewers_own_calls(
    client: TestClient, scoped: World, as_user: Any
) -> None:
    for viewer, expected in [
        ("alice", {"alice-1", "conf-1"}),
        ("admin", set()),
        ("mg", set()),
        ("bob", {"bob-1", "conf-1"}),
        ("nobody", {"nobody-1"}),
    ]:
        rows = _rows(client, as_user(viewer), "/api/v1/me/calls")
        assert {r["external_id"] for r in rows} == expected, viewer
    nobody = _rows(client, as_user("nobody"), "/api/v1/me/calls")
    assert nobody[0]["has_playable_recording"] is False


def test_rows_name_the_users_and_teams(client: TestClient, scoped: World, as_user: Any) -> None:
    rows = {r["external_id"]: r for r in _rows(client, as_user("admin"))}
    conf = rows["conf-1"]
    assert [u["name"] for u in conf["users"]] == ["Bob", "Alice"]
    assert set(conf["team_ids"]) == {str(scoped.teams["sales"].id), str(scoped.teams["support"].id)}
