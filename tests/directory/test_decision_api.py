"""The recording decision over stored settings: POST /policy/decision and /policy/what-if."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.directory.factories import World

API = "/api/v1"
Headers = dict[str, str]
AsUser = Callable[..., Headers]
RECORD_ASPECTS = {"reached", "licence", "incoming", "outgoing"}
DEVICE_EXTENSION = "2101"


def ok(resp: Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def error(resp: Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code, body
    return body


def set_settings(client: TestClient, headers: Headers, path: str, **changes: Any) -> None:
    ok(client.patch(f"{API}{path}/settings", headers=headers, json=changes))


def decision(client: TestClient, headers: Headers, direction: str, **target: Any) -> Response:
    return client.post(
        f"{API}/policy/decision", headers=headers, json={"direction": direction, **target}
    )


def what_if(client: TestClient, headers: Headers, direction: str, **question: Any) -> Response:
    return client.post(
        f"{API}/policy/what-if", headers=headers, json={"direction": direction, **question}
    )


def steps(body: dict[str, Any], aspect: str) -> list[tuple[str, str | None, str, bool]]:
    return [
        (s["level"], s["ref"], s["value"], s["decisive"])
        for s in body["trace"]
        if s["aspect"] == aspect
    ]


def stored(client: TestClient, world: World, headers: Headers) -> list[Any]:
    """Every stored settings object of the world, for checking that nothing changed."""
    paths = [f"{API}/org/settings"]
    paths += [f"{API}/teams/{t.id}/settings" for t in world.teams.values()]
    paths += [f"{API}/users/{u.id}/settings" for u in world.users.values()]
    paths += [f"{API}/devices/{d.id}/settings" for d in world.devices.values()]
    return [ok(client.get(p, headers=headers)) for p in paths]


def target_of(world: World, lookup: str) -> dict[str, str]:
    """How a call names alice's device: by id, by AOR, or by the device's extension."""
    device = world.devices["alice"]
    return {
        "device_id": {"device_id": str(device.id)},
        "aor": {"aor": device.aor},
        "extension": {"extension": DEVICE_EXTENSION},
    }[lookup]


@pytest.fixture
def admin(client: TestClient, world: World, as_user: AsUser) -> Headers:
    """An org admin's headers; alice's device also answers on its own extension."""
    headers = as_user("admin")
    resp = client.patch(
        f"{API}/devices/{world.devices['alice'].id}",
        headers=headers,
        json={"extension": DEVICE_EXTENSION},
    )
    assert resp.status_code == 200, resp.text
    return headers


DIRECTIONS = pytest.mark.parametrize("direction", ["incoming", "outgoing"])
LOOKUPS = pytest.mark.parametrize("lookup", ["device_id", "aor", "extension"])


# --- the brief's examples -------------------------------------------------------------------


@DIRECTIONS
@LOOKUPS
def test_brief_example_1_device_off_decides(
    client: TestClient, world: World, admin: Headers, direction: str, lookup: str
) -> None:
    """Example 1 from the brief, verbatim:

    "Device Setting -> Off, User Setting -> Inherit, Customer Setting -> On.
    Result: The call will not be recorded. The device setting will take precedence."
    """
    device, alice = world.devices["alice"], world.users["alice"]
    set_settings(client, admin, f"/devices/{device.id}", **{direction: "off"})
    set_settings(client, admin, f"/users/{alice.id}", **{direction: "inherit"})
    set_settings(client, admin, "/org", **{direction: "on"})

    body = ok(decision(client, admin, direction, **target_of(world, lookup)))

    assert (body["record"], body["reason"], body["decided_by"]) == (False, "setting_off", "device")
    assert body["direction"] == direction
    assert steps(body, direction) == [("device", str(device.id), "off", True)]
    assert body["explanation"] == f"{direction} call not recorded: {direction} is off at device"
    assert (body["outgoing_mode"], body["beep_interval_s"], body["announcement_id"]) == (
        None,
        None,
        None,
    )


@DIRECTIONS
@LOOKUPS
def test_brief_example_2_user_on_decides_when_device_inherits(
    client: TestClient, world: World, admin: Headers, direction: str, lookup: str
) -> None:
    """Example 2 from the brief, verbatim:

    "Device Setting -> Inherit, User Setting -> On, Customer Setting -> Off.
    Result: The call will be recorded. The device setting is inherit so the User setting
    will take precedence."
    """
    device, alice = world.devices["alice"], world.users["alice"]
    set_settings(client, admin, f"/devices/{device.id}", **{direction: "inherit"})
    set_settings(client, admin, f"/users/{alice.id}", **{direction: "on"})
    set_settings(client, admin, "/org", **{direction: "off"})

    body = ok(decision(client, admin, direction, **target_of(world, lookup)))

    assert (body["record"], body["reason"], body["decided_by"]) == (True, "recorded", "user")
    assert steps(body, direction) == [
        ("device", str(device.id), "inherit", False),
        ("user", str(alice.id), "on", True),
    ]
    assert body["explanation"] == f"{direction} call recorded: {direction} is on at user"
    expected_mode = "record_all" if direction == "outgoing" else None
    assert body["outgoing_mode"] == expected_mode


# --- who decides ----------------------------------------------------------------------------


@DIRECTIONS
def test_team_decides_when_device_and_user_inherit(
    client: TestClient, world: World, admin: Headers, direction: str
) -> None:
    sales = world.teams["sales"]
    set_settings(client, admin, f"/teams/{sales.id}", **{direction: "on"})

    body = ok(decision(client, admin, direction, device_id=str(world.devices["alice"].id)))

    assert (body["record"], body["decided_by"]) == (True, "team")
    assert [(lvl, value, decisive) for lvl, _, value, decisive in steps(body, direction)] == [
        ("device", "inherit", False),
        ("user", "inherit", False),
        ("team", "on", True),
    ]
    assert steps(body, direction)[-1][1] == str(sales.id)
    # bob's team (support) still inherits: the org's default (off) decides for him.
    bob = ok(decision(client, admin, direction, device_id=str(world.devices["bob"].id)))
    assert (bob["record"], bob["reason"], bob["decided_by"]) == (False, "setting_off", "org")


@pytest.mark.parametrize(
    ("target", "levels"),
    [
        pytest.param({"extension": "201"}, ["user", "team", "org"], id="users_extension"),
        pytest.param({"user_id": "alice"}, ["user", "team", "org"], id="user_id"),
        pytest.param({"extension": DEVICE_EXTENSION}, ["device"], id="devices_extension"),
    ],
)
def test_a_user_reached_without_a_device_skips_the_device_level(
    client: TestClient,
    world: World,
    admin: Headers,
    target: dict[str, str],
    levels: list[str],
) -> None:
    set_settings(client, admin, f"/devices/{world.devices['alice'].id}", incoming="off")
    set_settings(client, admin, "/org", incoming="on")
    if "user_id" in target:
        target = {"user_id": str(world.users[target["user_id"]].id)}

    body = ok(decision(client, admin, "incoming", **target))

    assert [s[0] for s in steps(body, "incoming")] == levels
    assert body["record"] is (levels[0] != "device")


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("carol_user", id="user_without_licence"),
        pytest.param("alice_device", id="device_of_user_whose_licence_was_removed"),
    ],
)
def test_no_licence_means_not_recorded(
    client: TestClient, world: World, admin: Headers, target: str
) -> None:
    alice = world.users["alice"]
    ok(client.patch(f"{API}/users/{alice.id}", headers=admin, json={"has_licence": False}))
    set_settings(client, admin, "/org", incoming="on", outgoing="on")
    if target == "carol_user":
        user, ask = world.users["carol"], {"user_id": str(world.users["carol"].id)}
    else:
        user, ask = alice, {"device_id": str(world.devices["alice"].id)}

    body = ok(decision(client, admin, "incoming", **ask))

    assert (body["record"], body["reason"], body["decided_by"]) == (False, "no_licence", "user")
    assert body["trace"] == [
        {
            "aspect": "licence",
            "level": "user",
            "ref": str(user.id),
            "value": "no call recording licence",
            "decisive": True,
        }
    ]


@DIRECTIONS
@pytest.mark.parametrize("who", ["admin", "alice"])
def test_a_call_that_reached_nobody_is_not_recorded(
    client: TestClient, world: World, admin: Headers, as_user: AsUser, direction: str, who: str
) -> None:
    set_settings(client, admin, "/org", incoming="on", outgoing="on")

    body = ok(decision(client, as_user(who), direction))

    assert (body["record"], body["reason"], body["decided_by"]) == (False, "not_reached", "call")
    assert body["trace"] == [
        {
            "aspect": "reached",
            "level": "call",
            "ref": None,
            "value": "no device or user",
            "decisive": True,
        }
    ]


# --- the trace ------------------------------------------------------------------------------

TRACE_SETUPS = [
    pytest.param("incoming", {}, id="incoming_off_by_org_default"),
    pytest.param("outgoing", {"org": {"outgoing": "on"}}, id="outgoing_on_at_org"),
    pytest.param(
        "incoming",
        {"device": {"incoming": "on"}, "team": {"beep": "on", "beep_interval_s": 15}},
        id="incoming_with_team_beep",
    ),
    pytest.param(
        "outgoing",
        {"user": {"outgoing": "on", "outgoing_mode": "ask"}, "org": {"beep": "on"}},
        id="outgoing_ask_at_user_org_beep",
    ),
]


@pytest.mark.parametrize(("direction", "setup"), TRACE_SETUPS)
def test_trace_has_one_decisive_record_step_and_one_per_aspect(
    client: TestClient, world: World, admin: Headers, direction: str, setup: dict[str, Any]
) -> None:
    paths = {
        "org": "/org",
        "team": f"/teams/{world.teams['sales'].id}",
        "user": f"/users/{world.users['alice'].id}",
        "device": f"/devices/{world.devices['alice'].id}",
    }
    for level, changes in setup.items():
        if changes.get("beep") == "on":
            changes = {"beep_interval_s": 30, **changes}
        set_settings(client, admin, paths[level], **changes)

    body = ok(decision(client, admin, direction, device_id=str(world.devices["alice"].id)))

    refs = {
        "device": str(world.devices["alice"].id),
        "user": str(world.users["alice"].id),
        "team": str(world.teams["sales"].id),
        "org": str(world.org.id),
    }
    for step in body["trace"]:
        assert set(step) == {"aspect", "level", "ref", "value", "decisive"}
        assert step["ref"] == refs[step["level"]]
    record_steps = [s for s in body["trace"] if s["aspect"] in RECORD_ASPECTS]
    assert [s["decisive"] for s in record_steps].count(True) == 1
    assert record_steps[-1]["decisive"] is True
    assert record_steps[-1]["level"] == body["decided_by"]
    for aspect in {s["aspect"] for s in body["trace"]}:
        decisive = [s["decisive"] for s in body["trace"] if s["aspect"] == aspect]
        assert decisive == [False] * (len(decisive) - 1) + [True], aspect
    expected = {"incoming": {"incoming", "beep", "announcement"}}.get(
        direction, {"outgoing", "outgoing_mode", "beep"}
    )
    assert {s["aspect"] for s in body["trace"]} == (expected if body["record"] else {direction})


def test_recorded_decision_carries_mode_and_beep(
    client: TestClient, world: World, admin: Headers
) -> None:
    set_settings(client, admin, f"/teams/{world.teams['sales'].id}", beep="on", beep_interval_s=15)
    set_settings(client, admin, f"/users/{world.users['alice'].id}", outgoing_mode="ask")
    set_settings(client, admin, "/org", outgoing="on")

    body = ok(decision(client, admin, "outgoing", aor=world.devices["alice"].aor))

    assert (body["record"], body["outgoing_mode"], body["beep_interval_s"]) == (True, "ask", 15)
    assert steps(body, "beep")[-1] == ("team", str(world.teams["sales"].id), "on", True)


# --- what-if --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        pytest.param(
            {"target": "alice_device", "device": {"incoming": "on"}},
            (True, "recorded", "device"),
            id="device_overlay_decides",
        ),
        pytest.param(
            {"target": "alice_device", "team": {"incoming": "on"}},
            (True, "recorded", "team"),
            id="team_overlay_decides",
        ),
        pytest.param(
            {"target": "alice_device", "org": {"incoming": "on"}, "has_licence": False},
            (False, "no_licence", "user"),
            id="licence_removed",
        ),
        pytest.param(
            {"target": "carol_user", "org": {"incoming": "on"}},
            (False, "no_licence", "user"),
            id="carol_still_has_no_licence",
        ),
        pytest.param(
            {"target": "carol_user", "org": {"incoming": "on"}, "has_licence": True},
            (True, "recorded", "org"),
            id="licence_granted",
        ),
        pytest.param(
            {"target": "carol_user", "team": {"incoming": "on"}, "has_licence": True},
            (True, "recorded", "team"),
            id="hypothetical_team_for_a_teamless_user",
        ),
        pytest.param(
            {"target": None, "user": {"incoming": "on"}, "has_licence": True},
            (True, "recorded", "user"),
            id="hypothetical_user_for_a_trunk_call",
        ),
        pytest.param(
            {"target": None, "org": {"incoming": "on"}, "has_licence": True},
            (False, "not_reached", "call"),
            id="trunk_call_stays_unreached",
        ),
    ],
)
def test_what_if_overlays_without_storing(
    client: TestClient,
    world: World,
    admin: Headers,
    question: dict[str, Any],
    expected: tuple[bool, str, str],
) -> None:
    names = {
        "alice_device": {"device_id": str(world.devices["alice"].id)},
        "carol_user": {"user_id": str(world.users["carol"].id)},
        None: {},
    }
    target = names[question.pop("target")]
    before = stored(client, world, admin)
    real = ok(decision(client, admin, "incoming", **target))

    body = ok(what_if(client, admin, "incoming", **target, **question))

    assert (body["record"], body["reason"], body["decided_by"]) == expected
    assert stored(client, world, admin) == before
    assert ok(decision(client, admin, "incoming", **target)) == real


def test_what_if_may_name_an_announcement(client: TestClient, world: World, admin: Headers) -> None:
    announcement = str(uuid.uuid4())
    overlay = {"incoming": "on", "announcement": "play", "announcement_id": announcement}
    before = stored(client, world, admin)

    body = ok(
        what_if(client, admin, "incoming", device_id=str(world.devices["alice"].id), user=overlay)
    )

    assert (body["record"], body["decided_by"], body["announcement_id"]) == (
        True,
        "user",
        announcement,
    )
    assert stored(client, world, admin) == before


@pytest.mark.parametrize(
    ("overlay", "details"),
    [
        pytest.param({"org": {"incoming": "inherit"}}, {"fields": ["incoming"]}, id="org_inherit"),
        pytest.param(
            {"org": {"beep": "inherit", "announcement": "inherit"}},
            {"fields": ["beep", "announcement"]},
            id="org_inherits_two_fields",
        ),
        pytest.param(
            {"team": {"beep": "on"}}, {"field": "beep_interval_s"}, id="beep_without_interval"
        ),
    ],
)
def test_what_if_refuses_impossible_settings(
    client: TestClient, world: World, admin: Headers, overlay: dict[str, Any], details: Any
) -> None:
    before = stored(client, world, admin)

    resp = what_if(client, admin, "incoming", device_id=str(world.devices["alice"].id), **overlay)

    assert error(resp, 422, "unprocessable")["details"] == details
    assert stored(client, world, admin) == before


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"direction": "sideways"}, id="unknown_direction"),
        pytest.param({}, id="no_direction"),
        pytest.param({"direction": "incoming", "aor": "alice"}, id="bad_aor"),
        pytest.param({"direction": "incoming", "device": {"incoming": "on"}}, id="overlay"),
    ],
)
def test_bad_decision_request_is_a_422(
    client: TestClient, admin: Headers, payload: dict[str, Any]
) -> None:
    error(
        client.post(f"{API}/policy/decision", headers=admin, json=payload), 422, "invalid_payload"
    )


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["decision", "what-if"])
@pytest.mark.parametrize(
    ("who", "target", "status"),
    [
        pytest.param("alice", "bob_device", 403, id="user_asks_about_another_device"),
        pytest.param("alice", "bob_aor", 403, id="user_asks_about_another_aor"),
        pytest.param("alice", "bob_extension", 403, id="user_asks_about_another_extension"),
        pytest.param("alice", "bob_user", 403, id="user_asks_about_another_user"),
        pytest.param("alice", "alice_device", 200, id="user_asks_about_own_device"),
        pytest.param("supervisor", "alice_device", 200, id="supervisor_asks_about_managed"),
        pytest.param("supervisor", "bob_device", 403, id="supervisor_asks_about_other_team"),
        pytest.param("admin", "bob_device", 200, id="admin_asks_about_anyone"),
    ],
)
def test_decisions_follow_the_management_scope(
    client: TestClient,
    world: World,
    admin: Headers,
    as_user: AsUser,
    endpoint: str,
    who: str,
    target: str,
    status: int,
) -> None:
    key, kind = target.split("_")
    ask = {
        "device": {"device_id": str(world.devices[key].id)},
        "aor": {"aor": world.devices[key].aor},
        "extension": {"extension": world.users[key].extension},
        "user": {"user_id": str(world.users[key].id)},
    }[kind]

    resp = client.post(
        f"{API}/policy/{endpoint}", headers=as_user(who), json={"direction": "incoming", **ask}
    )

    if status == 403:
        assert "management scope" in error(resp, 403, "forbidden")["message"]
    else:
        assert ok(resp)["decided_by"] == "org"


@pytest.mark.parametrize(
    "target",
    [
        pytest.param({"device_id": "random"}, id="unknown_device_id"),
        pytest.param({"user_id": "random"}, id="unknown_user_id"),
        pytest.param({"aor": "sip:nobody@acme.example.com"}, id="unknown_aor"),
        pytest.param({"extension": "999"}, id="unknown_extension"),
        pytest.param({"device_id": "other"}, id="another_orgs_device"),
        pytest.param({"aor": "sip:alice@globex.example.com"}, id="another_orgs_aor"),
    ],
)
def test_unknown_targets_are_not_found(
    client: TestClient,
    world: World,
    other_world: World,
    admin: Headers,
    target: dict[str, str],
) -> None:
    ids = {"random": str(uuid.uuid4()), "other": str(other_world.devices["alice"].id)}
    target = {k: ids.get(v, v) for k, v in target.items()}

    for endpoint in ("decision", "what-if"):
        resp = client.post(
            f"{API}/policy/{endpoint}", headers=admin, json={"direction": "incoming", **target}
        )
        error(resp, 404, "not_found")
