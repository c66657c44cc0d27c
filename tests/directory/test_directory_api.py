"""The directory over HTTP: teams, users, devices, licences, orgs, and who may do what."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from callrec.models import Team, User
from tests.directory.factories import World

API = "/api/v1"
Headers = dict[str, str]
AsUser = Callable[..., Headers]


def error(resp: Response, status: int, code: str) -> dict[str, Any]:
    """The error object of a refused request, after checking its status and code."""
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code, body
    return body


def ok(resp: Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def refs(world: World) -> dict[str, str]:
    """Placeholders for paths and payloads: team, user and device ids by their world key."""
    return {
        **{f"{k}_team": str(t.id) for k, t in world.teams.items()},
        **{k: str(u.id) for k, u in world.users.items()},
        **{f"{k}_device": str(d.id) for k, d in world.devices.items()},
    }


def directory(client: TestClient, headers: Headers) -> dict[str, Any]:
    """Everything an org admin sees of the directory: compared before and after a refusal."""
    return {
        "org": ok(client.get(f"{API}/org", headers=headers)),
        "teams": ok(client.get(f"{API}/teams", headers=headers)),
        "users": ok(client.get(f"{API}/users", headers=headers)),
        "devices": ok(client.get(f"{API}/devices", headers=headers)),
    }


def new_user(client: TestClient, headers: Headers, key: str, **fields: Any) -> dict[str, Any]:
    payload = {"email": f"{key}@acme.example.com", "display_name": key.title(), **fields}
    created: dict[str, Any] = ok(client.post(f"{API}/users", headers=headers, json=payload), 201)
    return created


def licences(client: TestClient, headers: Headers) -> tuple[int, int]:
    org = ok(client.get(f"{API}/org", headers=headers))
    return org["licences_purchased"], org["licences_assigned"]


# --- teams ----------------------------------------------------------------------------------


def test_admin_creates_renames_and_lists_teams(client: TestClient, as_user: AsUser) -> None:
    admin = as_user("admin")

    created = ok(client.post(f"{API}/teams", headers=admin, json={"name": "billing"}), 201)
    assert created["name"] == "billing"
    renamed = ok(
        client.patch(f"{API}/teams/{created['id']}", headers=admin, json={"name": "accounts"})
    )

    assert renamed == {**created, "name": "accounts"}
    assert ok(client.get(f"{API}/teams/{created['id']}", headers=admin))["name"] == "accounts"
    names = {t["name"] for t in ok(client.get(f"{API}/teams", headers=admin))}
    assert names == {"sales", "support", "accounts"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("post", "/teams", id="create_with_a_taken_name"),
        pytest.param("patch", "/teams/{support_team}", id="rename_to_a_taken_name"),
    ],
)
def test_team_names_are_unique_in_an_org(
    client: TestClient, world: World, as_user: AsUser, method: str, path: str
) -> None:
    admin = as_user("admin")
    before = directory(client, admin)

    resp = client.request(
        method, API + path.format(**refs(world)), headers=admin, json={"name": "sales"}
    )

    assert error(resp, 409, "conflict")["details"] == {"name": "sales"}
    assert directory(client, admin) == before


def test_deleting_a_team_clears_its_members_primary_team(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    admin = as_user("admin")
    refs_before = refs(world)
    sales = refs_before["sales_team"]

    assert ok(client.delete(f"{API}/teams/{sales}", headers=admin), 204) is None

    error(client.get(f"{API}/teams/{sales}", headers=admin), 404, "not_found")
    for key in ("alice", "supervisor"):
        user = ok(client.get(f"{API}/users/{world.users[key].id}", headers=admin))
        assert user["primary_team_id"] is None
        assert sales not in user["member_team_ids"]
        assert sales not in user["managed_team_ids"]
    session.expire_all()
    assert session.get(Team, uuid.UUID(sales)) is None
    alice = session.get(User, uuid.UUID(refs_before["alice"]))
    assert alice is not None
    assert alice.primary_team_id is None


# --- users ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "members"),
    [
        pytest.param({"primary_team_id": "{sales_team}"}, ["sales"], id="primary_only"),
        pytest.param(
            {"primary_team_id": "{sales_team}", "member_team_ids": ["{support_team}"]},
            ["sales", "support"],
            id="primary_and_another_member_team",
        ),
        pytest.param({"member_team_ids": ["{support_team}"]}, ["support"], id="no_primary"),
    ],
)
def test_created_user_is_a_member_of_their_primary_team(
    client: TestClient,
    world: World,
    as_user: AsUser,
    fields: dict[str, Any],
    members: list[str],
) -> None:
    admin = as_user("admin")
    ids = refs(world)
    payload = {
        k: [i.format(**ids) for i in v] if isinstance(v, list) else v.format(**ids)
        for k, v in fields.items()
    }

    created = new_user(client, admin, "dave", extension="203", **payload)

    assert created["member_team_ids"] == sorted(ids[f"{m}_team"] for m in members)
    assert created["primary_team_id"] == payload.get("primary_team_id")
    assert created["extension"] == "203"
    assert created["role"] == "user"
    assert created["has_licence"] is False
    assert ok(client.get(f"{API}/users/{created['id']}", headers=admin)) == created


@pytest.mark.parametrize(
    ("payload", "details"),
    [
        pytest.param(
            {"email": "alice@acme.example.com", "display_name": "Alice 2"},
            {"email": "alice@acme.example.com"},
            id="same_email",
        ),
        pytest.param(
            {"email": "ALICE@Acme.Example.com", "display_name": "Alice 2"},
            None,
            id="email_differing_only_in_case",
        ),
        pytest.param(
            {"email": "alice2@acme.example.com", "display_name": "Alice 2", "extension": "201"},
            {"extension": "201", "taken_by": "user"},
            id="taken_extension",
        ),
    ],
)
def test_duplicate_user_is_refused(
    client: TestClient, as_user: AsUser, payload: dict[str, Any], details: dict[str, str] | None
) -> None:
    admin = as_user("admin")
    before = directory(client, admin)

    body = error(client.post(f"{API}/users", headers=admin, json=payload), 409, "conflict")

    if details is not None:
        assert body["details"] == details
    assert directory(client, admin) == before


def test_admin_updates_and_deletes_a_user(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    admin = as_user("admin")
    bob = str(world.users["bob"].id)
    changes = {
        "display_name": "Robert",
        "extension": "222",
        "role": "supervisor",
        "management_scope": "teams",
        "managed_team_ids": [str(world.teams["support"].id)],
        "playback_scope": "member_groups",
    }

    updated = ok(client.patch(f"{API}/users/{bob}", headers=admin, json=changes))

    assert {k: updated[k] for k in changes} == changes
    assert updated["primary_team_id"] == str(world.teams["support"].id)
    assert ok(client.get(f"{API}/users/{bob}", headers=admin)) == updated

    assert ok(client.delete(f"{API}/users/{bob}", headers=admin), 204) is None
    error(client.get(f"{API}/users/{bob}", headers=admin), 404, "not_found")
    devices = ok(client.get(f"{API}/devices", headers=admin))
    assert [d["user_id"] for d in devices] == [str(world.users["alice"].id)]


WRITES = [
    pytest.param("post", "/teams", {"name": "ops"}, id="create_team"),
    pytest.param("patch", "/teams/{sales_team}", {"name": "renamed"}, id="rename_team"),
    pytest.param("delete", "/teams/{support_team}", None, id="delete_team"),
    pytest.param(
        "post",
        "/users",
        {"email": "eve@acme.example.com", "display_name": "Eve"},
        id="create_user",
    ),
    pytest.param("patch", "/users/{alice}", {"role": "org_admin"}, id="promote_a_user"),
    pytest.param("patch", "/users/{bob}", {"display_name": "Bobby"}, id="rename_another_user"),
    pytest.param("patch", "/users/{carol}", {"has_licence": True}, id="assign_a_licence"),
    pytest.param("delete", "/users/{bob}", None, id="delete_user"),
    pytest.param(
        "post",
        "/devices",
        {"user_id": "{alice}", "name": "desk", "sip_username": "desk", "aor": "sip:d@acme.x"},
        id="create_device",
    ),
    pytest.param("patch", "/devices/{alice_device}", {"name": "mine"}, id="rename_own_device"),
    pytest.param("delete", "/devices/{bob_device}", None, id="delete_device"),
]


@pytest.mark.parametrize("who", ["supervisor", "alice"])
@pytest.mark.parametrize(("method", "path", "payload"), WRITES)
def test_only_org_admins_write_the_directory(
    client: TestClient,
    world: World,
    as_user: AsUser,
    who: str,
    method: str,
    path: str,
    payload: dict[str, Any] | None,
) -> None:
    admin = as_user("admin")
    before = directory(client, admin)
    ids = refs(world)
    body = {k: v.format(**ids) if isinstance(v, str) else v for k, v in (payload or {}).items()}

    resp = client.request(
        method, API + path.format(**ids), headers=as_user(who), json=body if payload else None
    )

    assert "only org admins" in error(resp, 403, "forbidden")["message"]
    assert directory(client, admin) == before


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"display_name": "Alice Smith"}, id="display_name"),
        pytest.param({"display_name": "  Alice  "}, id="display_name_is_stripped"),
    ],
)
def test_user_may_rename_themself(
    client: TestClient, world: World, as_user: AsUser, changes: dict[str, str]
) -> None:
    alice = as_user("alice")
    path = f"{API}/users/{world.users['alice'].id}"

    updated = ok(client.patch(path, headers=alice, json=changes))

    assert updated["display_name"] == changes["display_name"].strip()
    assert ok(client.get(path, headers=alice)) == updated


def test_user_may_change_their_own_password_and_sign_in_with_it(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    alice = world.users["alice"]
    password = {"password": "a new passphrase"}

    ok(client.patch(f"{API}/users/{alice.id}", headers=as_user("alice"), json=password))

    login = client.post(f"{API}/auth/login", json={"email": alice.email, **password})
    assert ok(login)["id"] == str(alice.id)


@pytest.mark.parametrize(
    ("target", "changes"),
    [
        pytest.param("alice", {"role": "org_admin"}, id="own_role"),
        pytest.param("alice", {"has_licence": False}, id="own_licence"),
        pytest.param("alice", {"management_scope": "everyone"}, id="own_management_scope"),
        pytest.param("alice", {"playback_scope": "all"}, id="own_playback_scope"),
        pytest.param("alice", {"extension": "299"}, id="own_extension"),
        pytest.param("alice", {"display_name": "A", "role": "org_admin"}, id="name_with_role"),
        pytest.param("bob", {"display_name": "Bobby"}, id="another_users_name"),
    ],
)
def test_user_may_not_change_what_only_admins_set(
    client: TestClient, world: World, as_user: AsUser, target: str, changes: dict[str, Any]
) -> None:
    admin = as_user("admin")
    before = directory(client, admin)

    resp = client.patch(
        f"{API}/users/{world.users[target].id}", headers=as_user("alice"), json=changes
    )

    error(resp, 403, "forbidden")
    assert directory(client, admin) == before


# --- licences and orgs ----------------------------------------------------------------------


def test_licences_are_assigned_up_to_the_purchased_count(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    admin = as_user("admin")
    assert licences(client, admin) == (10, 4)
    extra = [new_user(client, admin, f"extra{i}")["id"] for i in range(6)]

    for user_id in [str(world.users["carol"].id), *extra[:5]]:
        assert ok(
            client.patch(f"{API}/users/{user_id}", headers=admin, json={"has_licence": True})
        )["has_licence"]
    assert licences(client, admin) == (10, 10)
    resp = client.patch(f"{API}/users/{extra[5]}", headers=admin, json={"has_licence": True})

    body = error(resp, 422, "licence_limit_exceeded")
    assert body["details"] == {"purchased": 10, "assigned": 10}
    assert ok(client.get(f"{API}/users/{extra[5]}", headers=admin))["has_licence"] is False
    assert licences(client, admin) == (10, 10)
    # Already licensed users are untouched by the limit.
    again = client.patch(f"{API}/users/{extra[0]}", headers=admin, json={"has_licence": True})
    assert ok(again)["has_licence"] is True


def test_creating_a_licensed_user_beyond_the_limit_creates_nobody(
    client: TestClient, as_user: AsUser
) -> None:
    admin = as_user("admin")
    for i in range(6):
        assert new_user(client, admin, f"extra{i}", has_licence=True)["has_licence"] is True
    before = directory(client, admin)
    payload = {"email": "late@acme.example.com", "display_name": "Late", "has_licence": True}

    resp = client.post(f"{API}/users", headers=admin, json=payload)

    assert error(resp, 422, "licence_limit_exceeded")["details"] == {
        "purchased": 10,
        "assigned": 10,
    }
    assert directory(client, admin) == before
    assert before["org"]["licences_assigned"] == 10


def test_unassigning_a_licence_frees_it(client: TestClient, world: World, as_user: AsUser) -> None:
    admin = as_user("admin")

    resp = client.patch(
        f"{API}/users/{world.users['alice'].id}", headers=admin, json={"has_licence": False}
    )

    assert ok(resp)["has_licence"] is False
    assert licences(client, admin) == (10, 3)
    assert ok(client.get(f"{API}/org", headers=as_user("alice")))["licences_assigned"] == 3


def make_platform_admin(session: Session, world: World) -> None:
    world.users["admin"].is_platform_admin = True
    session.commit()


@pytest.mark.parametrize(
    ("purchased", "status"),
    [
        pytest.param(3, 422, id="below_assigned_is_refused"),
        pytest.param(4, 200, id="down_to_assigned_is_allowed"),
        pytest.param(25, 200, id="raising_is_allowed"),
    ],
)
def test_platform_admin_sets_the_licence_count(
    client: TestClient,
    session: Session,
    world: World,
    as_user: AsUser,
    purchased: int,
    status: int,
) -> None:
    make_platform_admin(session, world)
    admin = as_user("admin")

    resp = client.patch(
        f"{API}/orgs/{world.org.id}", headers=admin, json={"licences_purchased": purchased}
    )

    if status == 422:
        body = error(resp, 422, "licence_limit_exceeded")
        assert body["details"] == {"assigned": 4, "requested": purchased}
        assert licences(client, admin) == (10, 4)
    else:
        assert ok(resp)["licences_purchased"] == purchased
        assert ok(resp)["licences_assigned"] == 4
        assert licences(client, admin) == (purchased, 4)


def test_licence_limit_follows_a_reduced_count(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    make_platform_admin(session, world)
    admin = as_user("admin")
    ok(client.patch(f"{API}/orgs/{world.org.id}", headers=admin, json={"licences_purchased": 4}))

    resp = client.patch(
        f"{API}/users/{world.users['carol'].id}", headers=admin, json={"has_licence": True}
    )

    assert error(resp, 422, "licence_limit_exceeded")["details"] == {"purchased": 4, "assigned": 4}


@pytest.mark.parametrize("who", ["admin", "supervisor", "alice"])
def test_only_platform_admins_set_licence_counts(
    client: TestClient, world: World, as_user: AsUser, who: str
) -> None:
    headers = as_user(who)

    resp = client.patch(
        f"{API}/orgs/{world.org.id}", headers=headers, json={"licences_purchased": 50}
    )

    error(resp, 403, "forbidden")
    assert licences(client, headers) == (10, 4)


# --- keeping an admin -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"role": "supervisor"}, id="demote"),
        pytest.param({"role": "user"}, id="demote_to_user"),
        pytest.param({"is_active": False}, id="deactivate"),
    ],
)
def test_last_org_admin_is_kept(
    client: TestClient, world: World, as_user: AsUser, changes: dict[str, Any]
) -> None:
    admin = as_user("admin")
    before = directory(client, admin)

    resp = client.patch(f"{API}/users/{world.users['admin'].id}", headers=admin, json=changes)

    error(resp, 409, "conflict")
    assert directory(client, admin) == before


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"role": "supervisor"}, id="demote"),
        pytest.param({"is_active": False}, id="deactivate"),
    ],
)
def test_an_admin_may_step_down_while_another_admin_remains(
    client: TestClient, world: World, as_user: AsUser, changes: dict[str, Any]
) -> None:
    admin = as_user("admin")
    new_user(client, admin, "second", role="org_admin")

    resp = client.patch(f"{API}/users/{world.users['admin'].id}", headers=admin, json=changes)

    updated = ok(resp)
    assert {k: updated[k] for k in changes} == changes


def test_an_inactive_admin_may_be_demoted_while_an_active_admin_remains(
    client: TestClient, as_user: AsUser
) -> None:
    admin = as_user("admin")
    second = new_user(client, admin, "second", role="org_admin")
    path = f"{API}/users/{second['id']}"
    assert ok(client.patch(path, headers=admin, json={"is_active": False}))["is_active"] is False

    resp = client.patch(path, headers=admin, json={"role": "user"})

    assert ok(resp)["role"] == "user"


def test_admin_cannot_delete_themself(client: TestClient, world: World, as_user: AsUser) -> None:
    admin = as_user("admin")
    before = directory(client, admin)

    resp = client.delete(f"{API}/users/{world.users['admin'].id}", headers=admin)

    error(resp, 409, "conflict")
    assert directory(client, admin) == before


# --- management scopes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "users", "devices"),
    [
        pytest.param("alice", {"alice"}, {"alice"}, id="scope_me_sees_only_themself"),
        pytest.param("carol", {"carol"}, set(), id="scope_me_without_device"),
        pytest.param(
            "supervisor",
            {"supervisor", "alice"},
            {"alice"},
            id="scope_teams_sees_managed_team_and_self",
        ),
        pytest.param(
            "admin",
            {"admin", "supervisor", "alice", "bob", "carol"},
            {"alice", "bob"},
            id="org_admin_sees_everyone",
        ),
    ],
)
def test_lists_follow_the_management_scope(
    client: TestClient,
    world: World,
    other_world: World,
    as_user: AsUser,
    who: str,
    users: set[str],
    devices: set[str],
) -> None:
    headers = as_user(who)

    listed_users = {u["id"] for u in ok(client.get(f"{API}/users", headers=headers))}
    listed_devices = {d["id"] for d in ok(client.get(f"{API}/devices", headers=headers))}

    assert listed_users == {str(world.users[k].id) for k in users}
    assert listed_devices == {str(world.devices[k].id) for k in devices}


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        pytest.param("alice", "/users/{alice}", 200, id="user_reads_themself"),
        pytest.param("alice", "/users/{bob}", 403, id="user_cannot_read_another_user"),
        pytest.param("alice", "/devices/{bob_device}", 403, id="user_cannot_read_others_device"),
        pytest.param("supervisor", "/users/{alice}", 200, id="supervisor_reads_managed_member"),
        pytest.param("supervisor", "/users/{bob}", 403, id="supervisor_cannot_read_other_team"),
        pytest.param(
            "supervisor", "/devices/{bob_device}", 403, id="supervisor_cannot_read_other_device"
        ),
        pytest.param("admin", "/users/{bob}", 200, id="admin_reads_anyone"),
    ],
)
def test_reading_one_user_or_device_follows_the_scope(
    client: TestClient, world: World, as_user: AsUser, who: str, path: str, status: int
) -> None:
    resp = client.get(API + path.format(**refs(world)), headers=as_user(who))

    if status == 403:
        assert "management scope" in error(resp, 403, "forbidden")["message"]
    else:
        assert ok(resp)["id"] == path.format(**refs(world)).rsplit("/", 1)[1]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/users/{alice}", id="user"),
        pytest.param("/teams/{sales_team}", id="team"),
        pytest.param("/devices/{alice_device}", id="device"),
        pytest.param("/users/{alice}/settings", id="user_settings"),
    ],
)
def test_another_orgs_ids_are_not_found(
    client: TestClient, world: World, other_world: World, as_user: AsUser, path: str
) -> None:
    resp = client.get(API + path.format(**refs(other_world)), headers=as_user("admin"))

    error(resp, 404, "not_found")


# --- devices --------------------------------------------------------------------------------


def test_admin_creates_updates_and_deletes_a_device(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    admin = as_user("admin")
    payload = {
        "user_id": str(world.users["carol"].id),
        "name": "Carol desk",
        "sip_username": "carol",
        "aor": "sip:carol@acme.example.com",
        "extension": "203",
    }

    created = ok(client.post(f"{API}/devices", headers=admin, json=payload), 201)
    assert {k: created[k] for k in payload} == payload
    assert created["org_id"] == str(world.org.id)
    assert ok(client.get(f"{API}/devices", headers=as_user("carol"))) == [created]

    path = f"{API}/devices/{created['id']}"
    moved = ok(client.patch(path, headers=admin, json={"name": "Carol soft", "extension": None}))
    assert moved == {**created, "name": "Carol soft", "extension": None}
    assert ok(client.get(path, headers=admin)) == moved

    assert ok(client.delete(path, headers=admin), 204) is None
    error(client.get(path, headers=admin), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "code"),
    [
        pytest.param(
            "post",
            "/devices",
            {"aor": "sip:alice@acme.example.com"},
            409,
            "conflict",
            id="create_with_a_taken_aor",
        ),
        pytest.param(
            "patch",
            "/devices/{bob_device}",
            {"aor": "sip:alice@acme.example.com"},
            409,
            "conflict",
            id="move_to_a_taken_aor",
        ),
        pytest.param(
            "post",
            "/devices",
            {"aor": "alice@acme.example.com"},
            422,
            "invalid_payload",
            id="aor_without_scheme",
        ),
        pytest.param(
            "post", "/devices", {"aor": "sip:carol"}, 422, "invalid_payload", id="aor_without_host"
        ),
        pytest.param(
            "post",
            "/devices",
            {"aor": "sip:ca rol@acme.example.com"},
            422,
            "invalid_payload",
            id="aor_with_a_space",
        ),
        pytest.param(
            "post",
            "/devices",
            {"aor": "tel:+15550100"},
            422,
            "invalid_payload",
            id="aor_not_sip",
        ),
        pytest.param(
            "patch",
            "/devices/{bob_device}",
            {"aor": "bob"},
            422,
            "invalid_payload",
            id="update_to_a_bad_aor",
        ),
        pytest.param(
            "post",
            "/devices",
            {"user_id": "{other_alice}"},
            404,
            "not_found",
            id="owner_in_another_org",
        ),
        pytest.param(
            "patch",
            "/devices/{bob_device}",
            {"user_id": "{other_alice}"},
            404,
            "not_found",
            id="move_to_an_owner_in_another_org",
        ),
        pytest.param(
            "patch",
            "/devices/{bob_device}",
            {"user_id": None},
            422,
            "unprocessable",
            id="remove_the_owner",
        ),
    ],
)
def test_bad_device_changes_are_refused(
    client: TestClient,
    world: World,
    other_world: World,
    as_user: AsUser,
    method: str,
    path: str,
    payload: dict[str, Any],
    status: int,
    code: str,
) -> None:
    admin = as_user("admin")
    before = directory(client, admin)
    ids = {**refs(world), "other_alice": str(other_world.users["alice"].id)}
    body = (
        {
            "user_id": str(world.users["carol"].id),
            "name": "Carol desk",
            "sip_username": "carol",
            "aor": "sip:carol@acme.example.com",
        }
        if method == "post"
        else {}
    )
    body.update({k: v.format(**ids) if isinstance(v, str) else v for k, v in payload.items()})

    resp = client.request(method, API + path.format(**ids), headers=admin, json=body)

    error(resp, status, code)
    assert directory(client, admin) == before


def test_users_and_devices_share_one_extension_plan(
    client: TestClient, as_user: AsUser, world: World
) -> None:
    """Regression: a device could take bob's extension, after which dialling 202 reached the
    device instead of bob."""
    admin = as_user("admin")
    before = directory(client, admin)
    device = {"user_id": str(world.users["carol"].id), "name": "desk", "sip_username": "carol",
              "aor": "sip:carol@acme.example.com", "extension": "202"}  # fmt: skip
    body = error(client.post(f"{API}/devices", headers=admin, json=device), 409, "conflict")
    assert body["details"] == {"extension": "202", "taken_by": "user"}
    created = client.post(f"{API}/devices", headers=admin, json={**device, "extension": "8301"})
    assert created.status_code == 201
    user = {"email": "dave@acme.example.com", "display_name": "Dave", "extension": "8301"}
    body = error(client.post(f"{API}/users", headers=admin, json=user), 409, "conflict")
    assert body["details"] == {"extension": "8301", "taken_by": "device"}
    patch = client.patch(f"{API}/users/{world.users['bob'].id}", headers=admin,
                         json={"extension": "8301"})  # fmt: skip
    assert patch.status_code == 409
    assert directory(client, admin)["users"] == before["users"]
