"""The call session view (GET /calls/{id}/session): segments in time order with who, device and
why each began, participants with join/leave times, recordings only for those who may play
them (the key absent otherwise), consent evidence for them, the decision trace for admins; and
how calls get the team tags the playback scopes match."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callrec.access.rules import PlaybackScope, Role
from callrec.calls.repository import CallRepository
from callrec.directory import schemas as s
from callrec.directory.service import TeamService, UserService
from callrec.kit.clock import FakeClock
from callrec.models import User
from callrec.storage import MemoryBlobStore
from tests.directory.factories import World, bearer, make_user
from tests.recordings.playback_world import CONSENT, STARTED, add_call, add_recording

Headers = dict[str, str]
AsUser = Callable[..., Headers]


def _at(seconds: float) -> str:
    return (STARTED + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def transferred(client: TestClient, world: World, as_user: AsUser) -> dict[str, Any]:
    """Alice answers on her phone, transfers to bob at 60 s; the supervisor joins as a
    conference participant from 90 to 100 s. Sent through the ingest API."""
    body = {
        "external_id": "session-1",
        "direction": "inbound",
        "from_number": "+441632960001",
        "to_number": "201",
        "started_at": _at(0),
        "answered_at": _at(2),
        "ended_at": _at(120),
        "segments": [
            # Listed out of time order on purpose: the view sorts by start time.
            {
                "sequence": 3,
                "user_id": str(world.users["supervisor"].id),
                "reason": "conference_join",
                "started_at": _at(90),
                "ended_at": _at(100),
            },
            {
                "sequence": 1,
                "device_id": str(world.devices["alice"].id),
                "started_at": _at(2),
                "ended_at": _at(60),
            },
            {
                "sequence": 2,
                "user_id": str(world.users["bob"].id),
                "reason": "transferred",
                "started_at": _at(60),
                "ended_at": _at(120),
            },
        ],
    }
    r = client.post("/api/v1/calls", json=body, headers=as_user("admin"))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _record_all(
    session: Session, blobs: MemoryBlobStore, clock: FakeClock, world: World, call_id: str
) -> dict[int, str]:
    call = CallRepository(session).get_full(world.org.id, uuid.UUID(call_id))
    made = {seq: str(add_recording(session, blobs, clock, call, sequence=seq).id) for seq in (1, 2)}
    session.commit()
    return made


def _view(client: TestClient, call_id: str, headers: Headers) -> Any:
    return client.get(f"/api/v1/calls/{call_id}/session", headers=headers)


def test_segments_in_time_order_with_who_device_and_why(
    client: TestClient, world: World, transferred: dict[str, Any], as_user: AsUser
) -> None:
    r = _view(client, transferred["id"], as_user("admin"))
    assert r.status_code == 200, r.text
    segments = r.json()["segments"]
    assert [(s["sequence"], s["reason"]) for s in segments] == [
        (1, "answered"),
        (2, "transferred"),
        (3, "conference_join"),
    ]
    first = segments[0]
    assert first["user"] == {"id": str(world.users["alice"].id), "name": "Alice"}
    assert first["device"] == {"id": str(world.devices["alice"].id), "name": "alice phone"}
    assert segments[1]["user"]["name"] == "Bob" and segments[1]["device"] is None
    assert segments[2]["started_at"].startswith(_at(90)[:19])


def test_participants_with_join_and_leave_times(
    client: TestClient, transferred: dict[str, Any], as_user: AsUser
) -> None:
    body = _view(client, transferred["id"], as_user("admin")).json()
    people = [(p["name"], p["joined_at"][:19], p["left_at"][:19]) for p in body["participants"]]
    assert people == [
        ("Alice", _at(2)[:19], _at(60)[:19]),
        ("Bob", _at(60)[:19], _at(120)[:19]),
        ("Supervisor", _at(90)[:19], _at(100)[:19]),
    ]


def test_an_unrecorded_call_has_no_recordings_key_at_all(
    client: TestClient, transferred: dict[str, Any], as_user: AsUser
) -> None:
    body = _view(client, transferred["id"], as_user("admin")).json()
    assert "recordings" not in body
    assert all("recording_id" not in s for s in body["segments"])


def test_recordings_per_segment_with_consent_evidence_and_links(
    client: TestClient,
    session: Session,
    blobs: MemoryBlobStore,
    clock: FakeClock,
    world: World,
    transferred: dict[str, Any],
    as_user: AsUser,
) -> None:
    made = _record_all(session, blobs, clock, world, transferred["id"])
    body = _view(client, transferred["id"], as_user("alice")).json()
    recs = body["recordings"]
    assert [(r["segment_sequence"], r["id"]) for r in recs] == [(1, made[1]), (2, made[2])]
    assert all(r["consent_evidence"] == CONSENT for r in recs)
    assert all("decision_trace" not in r for r in recs)  # alice is no admin
    assert recs[0]["links"] == {
        "playback": f"/api/v1/recordings/{made[1]}/playback",
        "download": f"/api/v1/recordings/{made[1]}/download",
        "peaks": f"/api/v1/recordings/{made[1]}/peaks",
    }
    by_seq = {s["sequence"]: s.get("recording_id") for s in body["segments"]}
    assert by_seq == {1: made[1], 2: made[2], 3: None}


def test_admins_also_get_the_decision_trace(
    client: TestClient,
    session: Session,
    blobs: MemoryBlobStore,
    clock: FakeClock,
    world: World,
    transferred: dict[str, Any],
    as_user: AsUser,
) -> None:
    _record_all(session, blobs, clock, world, transferred["id"])
    recs = _view(client, transferred["id"], as_user("admin")).json()["recordings"]
    assert recs[0]["decision_trace"]["record"] is True


def test_own_call_without_playback_permission_shows_the_call_but_no_recordings(
    client: TestClient,
    session: Session,
    blobs: MemoryBlobStore,
    clock: FakeClock,
    world: World,
    transferred: dict[str, Any],
) -> None:
    _record_all(session, blobs, clock, world, transferred["id"])
    alice = session.get(User, world.users["alice"].id)
    assert alice is not None
    alice.playback_scope = PlaybackScope.NONE
    headers = bearer(session, clock, alice)
    session.commit()
    r = _view(client, transferred["id"], headers)
    assert r.status_code == 200
    body = r.json()
    assert "recordings" not in body  # looks exactly like an unrecorded call
    assert all("recording_id" not in s for s in body["segments"])


def test_an_admin_without_playback_sees_the_call_without_recordings(
    client: TestClient,
    session: Session,
    blobs: MemoryBlobStore,
    clock: FakeClock,
    world: World,
    transferred: dict[str, Any],
) -> None:
    _record_all(session, blobs, clock, world, transferred["id"])
    admin = make_user(
        session, world.org, "admin2", role=Role.ORG_ADMIN, playback=PlaybackScope.NONE
    )
    headers = bearer(session, clock, admin)
    session.commit()
    body = _view(client, transferred["id"], headers).json()
    assert "recordings" not in body
    assert len(body["segments"]) == 3


def test_a_call_outside_scope_is_404_like_a_missing_one(
    client: TestClient, session: Session, world: World, clock: FakeClock, as_user: AsUser
) -> None:
    call = add_call(session, world.org.id, "bob-only", world.users["bob"])
    session.commit()
    alice = as_user("alice")  # scope own, primary team sales; the call is bob's (support)
    hidden = _view(client, str(call.id), alice)
    missing = _view(client, "00000000-0000-4000-8000-000000000000", alice)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"


def test_another_orgs_call_is_404(
    client: TestClient, session: Session, world: World, other_world: World, as_user: AsUser
) -> None:
    call = add_call(session, other_world.org.id, "theirs", other_world.users["alice"])
    session.commit()
    assert _view(client, str(call.id), as_user("admin")).status_code == 404


# --- team tags (docs/playback.md "How calls get their team tags") ---------------------------


def _tags(client: TestClient, call_id: object, headers: Headers) -> set[str]:
    body = _view(client, str(call_id), headers).json()
    return {t["name"] for t in body["teams"]}


def test_a_call_is_tagged_with_the_primary_team_of_each_segment_user(
    client: TestClient, transferred: dict[str, Any], as_user: AsUser
) -> None:
    # alice (sales) on segment 1, bob (support) on 2, the supervisor (sales) on 3.
    assert _tags(client, transferred["id"], as_user("admin")) == {"sales", "support"}


def test_a_conference_participant_tags_their_primary_team_too(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    call = add_call(
        session, world.org.id, "conf", world.users["bob"], joined=(world.users["alice"], 60, 120)
    )
    session.commit()
    assert _tags(client, call.id, as_user("admin")) == {"support", "sales"}


def test_member_teams_are_not_tagged_and_no_primary_team_adds_none(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    billing = TeamService(session).create(None, world.org.id, s.TeamCreate(name="billing"))
    dora = UserService(session).create(
        None,
        world.org.id,
        s.UserCreate(
            email="dora@acme.example.com",
            display_name="Dora",
            has_licence=True,
            primary_team_id=world.teams["support"].id,
            member_team_ids=[billing.id],
        ),
    )
    call = add_call(session, world.org.id, "dora", dora)
    teamless = add_call(session, world.org.id, "carol", world.users["carol"])
    session.commit()
    assert _tags(client, call.id, as_user("admin")) == {"support"}
    assert _tags(client, teamless.id, as_user("admin")) == set()


def test_teams_named_at_ingest_are_tagged_as_well(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    call = add_call(
        session, world.org.id, "named", world.users["carol"], team_ids=(world.teams["sales"],)
    )
    session.commit()
    assert _tags(client, call.id, as_user("admin")) == {"sales"}


def test_tags_are_fixed_at_ingest_a_later_team_move_does_not_retag(
    client: TestClient,
    session: Session,
    blobs: MemoryBlobStore,
    clock: FakeClock,
    world: World,
    as_user: AsUser,
) -> None:
    call = add_call(session, world.org.id, "before-move", world.users["alice"])
    rec = add_recording(session, blobs, clock, call)
    sam = make_user(
        session, world.org, "sam", team=world.teams["sales"], playback=PlaybackScope.PRIMARY_GROUP
    )
    sue = make_user(
        session, world.org, "sue", team=world.teams["support"], playback=PlaybackScope.PRIMARY_GROUP
    )
    alice = session.get(User, world.users["alice"].id)
    assert alice is not None
    alice.primary_team_id = world.teams["support"].id  # alice moves to support afterwards
    sam_h, sue_h = bearer(session, clock, sam), bearer(session, clock, sue)
    session.commit()
    assert _tags(client, call.id, as_user("admin")) == {"sales"}
    # Playback follows the tags: sales' primary-group viewer still plays it, support's does not.
    assert "recordings" in _view(client, str(call.id), sam_h).json()
    assert _view(client, str(call.id), sue_h).status_code == 404
    assert client.post(f"/api/v1/recordings/{rec.id}/playback", headers=sue_h).status_code == 404
