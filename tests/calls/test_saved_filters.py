"""Saved report filters: per user, in the database, optionally shared with one team."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.app import create_app
from callrec.kit.settings import Settings
from callrec.models import CallDirection, SavedReportFilter
from callrec.worker.runtime import Runtime
from tests.calls.factories import make_call
from tests.directory.factories import World

BASE = "/api/v1/reports/saved-filters"


@pytest.fixture
def with_calls(session: Session, world: World) -> World:
    make_call(session, world, "in-1", direction=CallDirection.INBOUND, users=("alice",))
    make_call(session, world, "out-1", direction=CallDirection.OUTBOUND, users=("alice",))
    session.commit()
    return world


def _create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(BASE, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_create_rename_change_delete(client: TestClient, with_calls: World, as_user: Any) -> None:
    alice = as_user("alice")
    made = _create(
        client,
        alice,
        name="Inbound",
        filters={"direction": ["inbound"], "quick": ["today"], "tz": "+02:00"},
    )
    assert made["mine"] is True and made["shared_team_id"] is None
    assert made["filters"]["direction"] == ["inbound"] and made["filters"]["tz"] == "+02:00"
    renamed = client.patch(f"{BASE}/{made['id']}", json={"name": "Calls in"}, headers=alice)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Calls in"
    changed = client.patch(
        f"{BASE}/{made['id']}", json={"filters": {"direction": ["outbound"]}}, headers=alice
    )
    assert changed.json()["filters"]["direction"] == ["outbound"]
    assert changed.json()["name"] == "Calls in"
    assert [f["name"] for f in client.get(BASE, headers=alice).json()] == ["Calls in"]
    assert client.delete(f"{BASE}/{made['id']}", headers=alice).status_code == 204
    assert client.get(BASE, headers=alice).json() == []
    assert client.get(f"{BASE}/{made['id']}", headers=alice).status_code == 404


def test_running_a_saved_filter_with_overrides(
    client: TestClient, with_calls: World, as_user: Any
) -> None:
    alice = as_user("alice")
    made = _create(client, alice, name="In", filters={"direction": ["inbound"]})
    run = client.get(f"/api/v1/reports/calls?saved_filter_id={made['id']}", headers=alice)
    assert [r["external_id"] for r in run.json()["items"]] == ["in-1"]
    # A parameter given with the saved filter replaces the saved value.
    over = client.get(
        f"/api/v1/reports/calls?saved_filter_id={made['id']}&direction=outbound", headers=alice
    )
    assert [r["external_id"] for r in over.json()["items"]] == ["out-1"]
    history = client.get(f"/api/v1/me/calls?saved_filter_id={made['id']}", headers=alice)
    assert [r["external_id"] for r in history.json()["items"]] == ["in-1"]


def test_names_are_unique_per_owner(client: TestClient, with_calls: World, as_user: Any) -> None:
    _create(client, as_user("alice"), name="Mine")
    again = client.post(BASE, json={"name": "Mine"}, headers=as_user("alice"))
    assert again.status_code == 409
    _create(client, as_user("bob"), name="Mine")  # someone else may use the same name
    other = _create(client, as_user("alice"), name="Other")
    clash = client.patch(f"{BASE}/{other['id']}", json={"name": "Mine"}, headers=as_user("alice"))
    assert clash.status_code == 409


def test_others_never_see_an_unshared_filter(
    client: TestClient, with_calls: World, as_user: Any
) -> None:
    made = _create(client, as_user("alice"), name="Private")
    bob = as_user("bob")
    assert client.get(BASE, headers=bob).json() == []
    for method in ("get", "patch", "delete"):
        kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "patch" else {}
        response = getattr(client, method)(f"{BASE}/{made['id']}", headers=bob, **kwargs)
        assert response.status_code == 404, method
    run = client.get(f"/api/v1/reports/calls?saved_filter_id={made['id']}", headers=bob)
    assert run.status_code == 404


def test_sharing_with_a_team(
    client: TestClient, with_calls: World, as_user: Any, other_world: World
) -> None:
    alice, sales, support = as_user("alice"), with_calls.teams["sales"], with_calls.teams["support"]
    made = _create(client, alice, name="Team view", shared_team_id=str(sales.id))
    supervisor = as_user("supervisor")  # primary team sales
    seen = client.get(BASE, headers=supervisor).json()
    assert [(f["name"], f["mine"]) for f in seen] == [("Team view", False)]
    run = client.get(f"/api/v1/reports/calls?saved_filter_id={made['id']}", headers=supervisor)
    assert run.status_code == 200
    # Only the owner changes or deletes it.
    assert (
        client.patch(f"{BASE}/{made['id']}", json={"name": "x"}, headers=supervisor).status_code
        == 403
    )
    assert client.delete(f"{BASE}/{made['id']}", headers=supervisor).status_code == 403
    assert client.get(BASE, headers=as_user("bob")).json() == []  # support is not sales
    # Not a team she belongs to; another org's team does not exist for her.
    assert (
        client.post(
            BASE, json={"name": "s", "shared_team_id": str(support.id)}, headers=alice
        ).status_code
        == 403
    )
    foreign = other_world.teams["sales"].id
    assert (
        client.post(
            BASE, json={"name": "f", "shared_team_id": str(foreign)}, headers=alice
        ).status_code
        == 404
    )
    # Unsharing hides it again.
    client.patch(f"{BASE}/{made['id']}", json={"shared_team_id": None}, headers=alice)
    assert client.get(BASE, headers=supervisor).json() == []


def test_invalid_saved_filters_are_refused(
    client: TestClient, with_calls: World, as_user: Any
) -> None:
    alice = as_user("alice")
    for body in (
        {"name": ""},
        {"name": "x", "filters": {"tz": "Nowhere/Else"}},
        {"name": "x", "filters": {"colour": "blue"}},
        {"name": "x" * 201},
    ):
        assert client.post(BASE, json=body, headers=alice).status_code == 422, body


def test_saved_filters_survive_a_restart(
    client: TestClient,
    session: Session,
    with_calls: World,
    as_user: Any,
    settings: Settings,
    runtime: Runtime,
) -> None:
    alice = as_user("alice")
    made = _create(client, alice, name="Kept", filters={"quick": ["missed"]})
    client.close()
    # They are rows in the database, not app state: a new app (and session) reads them back.
    stored = session.scalars(select(SavedReportFilter)).all()
    assert [(f.name, f.filters) for f in stored] == [("Kept", {"quick": ["missed"]})]
    with TestClient(create_app(settings, runtime), base_url="http://testserver") as fresh:
        listed = fresh.get(BASE, headers=alice).json()
    assert [(f["id"], f["filters"]["quick"]) for f in listed] == [(made["id"], ["missed"])]
