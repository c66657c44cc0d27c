"""Assigning announcements in the recording settings: same org only, 'play' needs an id, the
decision names it, and an assigned announcement cannot be deleted (409) until unassigned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from callrec.kit.settings import Settings
from callrec.models import Announcement
from callrec.storage import MemoryBlobStore
from tests.consent.factories import make_tone_announcement
from tests.directory.factories import World

API = "/api/v1"
Headers = dict[str, str]
AsUser = Callable[..., Headers]


def ok(resp: Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def error(resp: Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code, body
    return body


@pytest.fixture
def tone(
    session: Session, blobs: MemoryBlobStore, settings: Settings, world: World
) -> Announcement:
    made = make_tone_announcement(session, blobs, settings, world.org)
    session.commit()
    return made


def play(announcement_id: object) -> dict[str, Any]:
    return {"incoming": "on", "announcement": "play", "announcement_id": str(announcement_id)}


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("admin", "/org/settings"),
        ("supervisor", "/teams/{sales}/settings"),
        ("alice", "/users/{alice}/settings"),
        ("admin", "/devices/{alice_device}/settings"),
    ],
    ids=["org_by_admin", "team_by_supervisor", "own_user", "device"],
)
def test_an_announcement_of_the_org_is_assigned_and_decided(
    client: TestClient, world: World, as_user: AsUser, tone: Announcement, who: str, path: str
) -> None:
    url = API + path.format(
        sales=world.teams["sales"].id,
        alice=world.users["alice"].id,
        alice_device=world.devices["alice"].id,
    )
    body = ok(client.patch(url, headers=as_user(who), json=play(tone.id)))
    assert (body["announcement"], body["announcement_id"]) == ("play", str(tone.id))

    admin = as_user("admin")
    if "/org/" not in path:  # the org records incoming calls too
        ok(client.patch(f"{API}/org/settings", headers=admin, json={"incoming": "on"}))
    decision = ok(
        client.post(
            f"{API}/policy/decision",
            headers=admin,
            json={"direction": "incoming", "device_id": str(world.devices["alice"].id)},
        )
    )
    assert (decision["record"], decision["announcement_id"]) == (True, str(tone.id))


def test_another_orgs_announcement_is_not_found(
    client: TestClient,
    session: Session,
    blobs: MemoryBlobStore,
    settings: Settings,
    world: World,
    other_world: World,
    as_user: AsUser,
) -> None:
    theirs = make_tone_announcement(session, blobs, settings, other_world.org, "Theirs")
    session.commit()
    admin = as_user("admin")
    before = ok(client.get(f"{API}/org/settings", headers=admin))

    resp = client.patch(f"{API}/org/settings", headers=admin, json=play(theirs.id))

    error(resp, 404, "not_found")
    assert ok(client.get(f"{API}/org/settings", headers=admin)) == before


def test_play_needs_an_announcement_id(
    client: TestClient, as_user: AsUser, tone: Announcement
) -> None:
    admin = as_user("admin")

    body = error(
        client.patch(f"{API}/org/settings", headers=admin, json={"announcement": "play"}),
        422,
        "unprocessable",
    )

    assert body["details"] == {"field": "announcement_id"}
    ok(client.patch(f"{API}/org/settings", headers=admin, json=play(tone.id)))
    # Once both are set, switching away from play keeps nothing dangling.
    cleared = ok(
        client.patch(
            f"{API}/org/settings",
            headers=admin,
            json={"announcement": "none", "announcement_id": None},
        )
    )
    assert (cleared["announcement"], cleared["announcement_id"]) == ("none", None)


def test_an_assigned_announcement_cannot_be_deleted_until_unassigned(
    client: TestClient, world: World, as_user: AsUser, tone: Announcement
) -> None:
    admin = as_user("admin")
    team = world.teams["sales"].id
    ok(client.patch(f"{API}/teams/{team}/settings", headers=admin, json=play(tone.id)))
    # Named but not played (mode inherit): still an assignment someone chose.
    ok(
        client.patch(
            f"{API}/users/{world.users['bob'].id}/settings",
            headers=admin,
            json={"announcement_id": str(tone.id)},
        )
    )

    body = error(client.delete(f"{API}/announcements/{tone.id}", headers=admin), 409, "conflict")

    assert sorted(body["details"]["assigned_to"], key=lambda a: a["level"]) == [
        {"level": "team", "id": str(team)},
        {"level": "user", "id": str(world.users["bob"].id)},
    ]
    ok(client.get(f"{API}/announcements/{tone.id}", headers=admin))
    unassign = {"announcement": "inherit", "announcement_id": None}
    ok(client.patch(f"{API}/teams/{team}/settings", headers=admin, json=unassign))
    ok(
        client.patch(
            f"{API}/users/{world.users['bob'].id}/settings",
            headers=admin,
            json={"announcement_id": None},
        )
    )
    assert client.delete(f"{API}/announcements/{tone.id}", headers=admin).status_code == 204
