"""Recording settings over HTTP at the four levels: defaults, validation, partial updates,
and who may change what (compliance — the beep — is for admins and supervisors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.directory.factories import World

API = "/api/v1"
Headers = dict[str, str]
AsUser = Callable[..., Headers]

ORG_DEFAULTS = {
    "level": "org",
    "incoming": "off",
    "outgoing": "off",
    "outgoing_mode": "record_all",
    "beep": "off",
    "beep_interval_s": None,
    "announcement": "none",
    "announcement_id": None,
}
INHERITING = {
    "incoming": "inherit",
    "outgoing": "inherit",
    "outgoing_mode": "inherit",
    "beep": "inherit",
    "beep_interval_s": None,
    "announcement": "inherit",
    "announcement_id": None,
}
# Every settings resource of the world, by a short name: "<key>_<level>".
TARGETS = ["org", "sales_team", "support_team", "alice_user", "bob_user", "alice_device"]


def settings_path(world: World, target: str) -> str:
    if target == "org":
        return f"{API}/org/settings"
    key, level = target.rsplit("_", 1)
    row = {"team": world.teams, "user": world.users, "device": world.devices}[level][key]
    return f"{API}/{level}s/{row.id}/settings"


def ok(resp: Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def error(resp: Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code, body
    return body


def all_settings(client: TestClient, world: World, headers: Headers) -> dict[str, Any]:
    """Every level's settings as an org admin sees them: compared before and after a refusal."""
    targets = [*TARGETS, "bob_device", "carol_user", "admin_user", "supervisor_user"]
    return {t: ok(client.get(settings_path(world, t), headers=headers)) for t in targets}


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param("org", ORG_DEFAULTS, id="org_has_concrete_defaults"),
        pytest.param("sales_team", {"level": "team", **INHERITING}, id="team_inherits"),
        pytest.param("alice_user", {"level": "user", **INHERITING}, id="user_inherits"),
        pytest.param("alice_device", {"level": "device", **INHERITING}, id="device_inherits"),
    ],
)
def test_default_settings(
    client: TestClient, world: World, as_user: AsUser, target: str, expected: dict[str, Any]
) -> None:
    assert ok(client.get(settings_path(world, target), headers=as_user("admin"))) == expected


@pytest.mark.parametrize(
    ("who", "target", "status"),
    [
        pytest.param("alice", "org", 200, id="user_reads_org_defaults"),
        pytest.param("alice", "alice_user", 200, id="user_reads_own"),
        pytest.param("alice", "alice_device", 200, id="user_reads_own_device"),
        pytest.param("alice", "bob_user", 403, id="user_cannot_read_another_user"),
        pytest.param("alice", "bob_device", 403, id="user_cannot_read_another_device"),
        pytest.param("alice", "sales_team", 403, id="scope_me_cannot_read_team"),
        pytest.param("supervisor", "alice_device", 200, id="supervisor_reads_managed_device"),
        pytest.param("supervisor", "sales_team", 200, id="supervisor_reads_managed_team"),
        pytest.param("supervisor", "support_team", 403, id="supervisor_cannot_read_other_team"),
        pytest.param("supervisor", "bob_user", 403, id="supervisor_cannot_read_other_member"),
    ],
)
def test_reading_settings_follows_the_scope(
    client: TestClient, world: World, as_user: AsUser, who: str, target: str, status: int
) -> None:
    resp = client.get(settings_path(world, target), headers=as_user(who))

    if status == 200:
        assert ok(resp)["level"] == target.rsplit("_", 1)[-1]
    else:
        error(resp, 403, "forbidden")


# --- changing: partial updates --------------------------------------------------------------


@pytest.mark.parametrize("target", ["org", "sales_team", "alice_user", "alice_device"])
def test_patch_is_partial(client: TestClient, world: World, as_user: AsUser, target: str) -> None:
    admin = as_user("admin")
    path = settings_path(world, target)
    before = ok(client.get(path, headers=admin))

    first = ok(client.patch(path, headers=admin, json={"incoming": "on"}))
    second = ok(client.patch(path, headers=admin, json={"beep": "on", "beep_interval_s": 30}))
    third = ok(client.patch(path, headers=admin, json={"outgoing_mode": "ask"}))

    assert first == {**before, "incoming": "on"}
    assert second == {**first, "beep": "on", "beep_interval_s": 30}
    assert third == {**second, "outgoing_mode": "ask"}
    assert ok(client.get(path, headers=admin)) == third


@pytest.mark.parametrize(
    ("target", "changes"),
    [
        pytest.param("alice_user", {"incoming": "off", "outgoing": "on"}, id="user_toggles"),
        pytest.param("alice_device", {"announcement": "none"}, id="device_announcement_none"),
        pytest.param("org", {"announcement": "none", "outgoing": "on"}, id="org_toggles"),
        pytest.param(
            "sales_team", {"beep": "off", "beep_interval_s": None}, id="team_interval_cleared"
        ),
        pytest.param("org", {"beep": "on", "beep_interval_s": 5}, id="shortest_beep_interval"),
        pytest.param("org", {"beep": "on", "beep_interval_s": 600}, id="longest_beep_interval"),
        pytest.param("org", {}, id="empty_patch_changes_nothing"),
    ],
)
def test_valid_changes_are_stored(
    client: TestClient, world: World, as_user: AsUser, target: str, changes: dict[str, Any]
) -> None:
    admin = as_user("admin")
    path = settings_path(world, target)
    before = ok(client.get(path, headers=admin))

    after = ok(client.patch(path, headers=admin, json=changes))

    assert after == {**before, **changes}
    assert ok(client.get(path, headers=admin)) == after


def test_interval_may_be_kept_while_the_beep_is_off(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    admin = as_user("admin")
    path = settings_path(world, "alice_user")
    ok(client.patch(path, headers=admin, json={"beep": "on", "beep_interval_s": 45}))

    off = ok(client.patch(path, headers=admin, json={"beep": "off"}))
    on_again = ok(client.patch(path, headers=admin, json={"beep": "on"}))

    assert (off["beep"], off["beep_interval_s"]) == ("off", 45)
    assert (on_again["beep"], on_again["beep_interval_s"]) == ("on", 45)


# --- changing: bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        pytest.param({"incoming": "inherit"}, ["incoming"], id="incoming"),
        pytest.param({"outgoing_mode": "inherit"}, ["outgoing_mode"], id="outgoing_mode"),
        pytest.param(
            {"beep": "inherit", "announcement": "inherit", "outgoing": "inherit"},
            ["outgoing", "beep", "announcement"],
            id="several_fields",
        ),
    ],
)
def test_org_cannot_inherit(
    client: TestClient, world: World, as_user: AsUser, changes: dict[str, str], fields: list[str]
) -> None:
    admin = as_user("admin")
    before = all_settings(client, world, admin)

    resp = client.patch(settings_path(world, "org"), headers=admin, json=changes)

    body = error(resp, 422, "unprocessable")
    assert body["details"] == {"fields": fields}
    assert "cannot inherit" in body["message"]
    assert all_settings(client, world, admin) == before


BAD_INPUT = [
    pytest.param({"incoming": "sometimes"}, "invalid_payload", "incoming", id="unknown_toggle"),
    pytest.param({"outgoing_mode": "never"}, "invalid_payload", "outgoing_mode", id="unknown_mode"),
    pytest.param({"beep": "loud"}, "invalid_payload", "beep", id="unknown_beep"),
    pytest.param({"announcement": "sing"}, "invalid_payload", "announcement", id="unknown_ann"),
    pytest.param(
        {"beep": "on", "beep_interval_s": 4}, "invalid_payload", "beep_interval_s", id="beep_4s"
    ),
    pytest.param(
        {"beep": "on", "beep_interval_s": 601},
        "invalid_payload",
        "beep_interval_s",
        id="beep_601s",
    ),
    pytest.param({"beep_interval_s": 0}, "invalid_payload", "beep_interval_s", id="interval_0"),
    pytest.param(
        {"beep_interval_s": "often"}, "invalid_payload", "beep_interval_s", id="interval_text"
    ),
    pytest.param({"beep": "on"}, "unprocessable", "beep_interval_s", id="beep_on_no_interval"),
    pytest.param(
        {"beep": "on", "beep_interval_s": None},
        "unprocessable",
        "beep_interval_s",
        id="beep_on_null_interval",
    ),
    pytest.param({"announcement": "play"}, "unprocessable", "announcement_id", id="announce_play"),
    pytest.param({"volume": 11}, "invalid_payload", "volume", id="unknown_field"),
]


@pytest.mark.parametrize("target", ["org", "sales_team", "alice_user", "alice_device"])
@pytest.mark.parametrize(("changes", "code", "field"), BAD_INPUT)
def test_bad_settings_are_refused(
    client: TestClient,
    world: World,
    as_user: AsUser,
    target: str,
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    admin = as_user("admin")
    before = all_settings(client, world, admin)

    resp = client.patch(settings_path(world, target), headers=admin, json=changes)

    body = error(resp, 422, code)
    if code == "invalid_payload":
        assert body["message"].startswith(f"{field}:")
        assert [e["loc"][-1] for e in body["details"]["errors"]] == [field]
    else:
        assert body["details"] == {"field": field}
    assert all_settings(client, world, admin) == before


def test_malformed_json_is_a_400(client: TestClient, world: World, as_user: AsUser) -> None:
    admin = as_user("admin")
    headers = {**admin, "content-type": "application/json"}
    before = all_settings(client, world, admin)

    resp = client.patch(settings_path(world, "org"), headers=headers, content=b'{"incoming":')

    error(resp, 400, "malformed_json")
    assert all_settings(client, world, admin) == before


# --- changing: who may ----------------------------------------------------------------------

ON = {"incoming": "on", "outgoing": "on"}
BEEP = {"beep": "on", "beep_interval_s": 20}

SCOPE_CASES = [
    pytest.param("alice", "alice_user", ON, 200, id="user_changes_own_toggles"),
    pytest.param("alice", "alice_device", ON, 200, id="user_changes_own_device_toggles"),
    pytest.param("alice", "alice_user", {"outgoing_mode": "ask"}, 200, id="user_own_mode"),
    pytest.param("alice", "bob_user", ON, 403, id="user_cannot_change_another_user"),
    pytest.param("alice", "bob_device", ON, 403, id="user_cannot_change_another_device"),
    pytest.param("alice", "sales_team", ON, 403, id="user_cannot_change_own_team"),
    pytest.param("alice", "org", ON, 403, id="user_cannot_change_org"),
    pytest.param("supervisor", "alice_user", ON, 200, id="supervisor_changes_managed_member"),
    pytest.param("supervisor", "alice_device", ON, 200, id="supervisor_changes_managed_device"),
    pytest.param("supervisor", "supervisor_user", ON, 200, id="supervisor_changes_own"),
    pytest.param("supervisor", "sales_team", ON, 200, id="supervisor_changes_managed_team"),
    pytest.param("supervisor", "support_team", ON, 403, id="supervisor_not_other_team"),
    pytest.param("supervisor", "bob_user", ON, 403, id="supervisor_not_other_team_member"),
    pytest.param("supervisor", "bob_device", ON, 403, id="supervisor_not_other_team_device"),
    pytest.param("supervisor", "carol_user", ON, 403, id="supervisor_not_teamless_user"),
    pytest.param("supervisor", "org", ON, 403, id="supervisor_cannot_change_org"),
    pytest.param("admin", "org", ON, 200, id="admin_changes_org"),
    pytest.param("admin", "bob_device", ON, 200, id="admin_changes_any_device"),
    pytest.param("admin", "support_team", ON, 200, id="admin_changes_any_team"),
    # compliance: the beep is changed only by org admins and supervisors within their scope
    pytest.param("alice", "alice_user", BEEP, 403, id="user_cannot_beep_own"),
    pytest.param("alice", "alice_device", BEEP, 403, id="user_cannot_beep_own_device"),
    pytest.param("alice", "alice_user", {"beep": "off"}, 403, id="user_cannot_silence_beep"),
    pytest.param(
        "alice", "alice_user", {"beep_interval_s": 60}, 403, id="user_cannot_change_interval"
    ),
    pytest.param(
        "alice", "alice_user", {**ON, **BEEP}, 403, id="user_toggles_with_beep_refused_whole"
    ),
    pytest.param("supervisor", "alice_user", BEEP, 200, id="supervisor_beeps_managed_member"),
    pytest.param("supervisor", "alice_device", BEEP, 200, id="supervisor_beeps_managed_device"),
    pytest.param("supervisor", "sales_team", BEEP, 200, id="supervisor_beeps_managed_team"),
    pytest.param("supervisor", "bob_user", BEEP, 403, id="supervisor_cannot_beep_other_member"),
    pytest.param("supervisor", "support_team", BEEP, 403, id="supervisor_cannot_beep_other_team"),
    pytest.param("supervisor", "org", BEEP, 403, id="supervisor_cannot_beep_org"),
    pytest.param("admin", "org", BEEP, 200, id="admin_beeps_org"),
    pytest.param("admin", "support_team", BEEP, 200, id="admin_beeps_any_team"),
    pytest.param("admin", "bob_user", BEEP, 200, id="admin_beeps_any_user"),
    pytest.param("admin", "alice_device", BEEP, 200, id="admin_beeps_any_device"),
]


@pytest.mark.parametrize(("who", "target", "changes", "status"), SCOPE_CASES)
def test_who_may_change_settings(
    client: TestClient,
    world: World,
    as_user: AsUser,
    who: str,
    target: str,
    changes: dict[str, Any],
    status: int,
) -> None:
    admin = as_user("admin")
    before = all_settings(client, world, admin)
    path = settings_path(world, target)

    resp = client.patch(path, headers=as_user(who), json=changes)

    if status == 200:
        assert ok(resp) == {**before[target], **changes}
        assert all_settings(client, world, admin) == {**before, target: ok(resp)}
    else:
        error(resp, 403, "forbidden")
        assert all_settings(client, world, admin) == before


def test_compliance_refusal_names_the_role(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    resp = client.patch(
        settings_path(world, "alice_user"), headers=as_user("alice"), json={"beep": "off"}
    )

    assert "compliance" in error(resp, 403, "forbidden")["message"]


def test_another_orgs_settings_are_not_found(
    client: TestClient, world: World, other_world: World, as_user: AsUser
) -> None:
    admin = as_user("admin")
    their_admin = as_user("admin", other_world)
    theirs = all_settings(client, other_world, their_admin)

    for target in TARGETS[1:]:
        path = settings_path(other_world, target)
        error(client.get(path, headers=admin), 404, "not_found")
        error(client.patch(path, headers=admin, json=ON), 404, "not_found")

    assert all_settings(client, other_world, their_admin) == theirs


@pytest.mark.parametrize("field", ["incoming", "outgoing", "outgoing_mode", "beep", "announcement"])
def test_null_for_a_setting_is_refused(
    client: TestClient, world: World, as_user: AsUser, field: str
) -> None:
    admin = as_user("admin")
    before = all_settings(client, world, admin)

    resp = client.patch(settings_path(world, "alice_user"), headers=admin, json={field: None})

    message = error(resp, 422, "invalid_payload")["message"]
    assert f"{field} cannot be null" in message
    assert all_settings(client, world, admin) == before


@pytest.mark.parametrize("who", ["admin", "alice"])
def test_an_unknown_announcement_id_is_not_found(
    client: TestClient, world: World, as_user: AsUser, who: str
) -> None:
    """Assigning announcements is tested in tests/consent/test_assignment_api.py."""
    admin = as_user("admin")
    before = all_settings(client, world, admin)
    dangling = {"announcement_id": "0197e0a0-0000-7000-8000-000000000001"}

    resp = client.patch(settings_path(world, "alice_user"), headers=as_user(who), json=dangling)

    assert "announcement" in error(resp, 404, "not_found")["message"]
    assert all_settings(client, world, admin) == before
