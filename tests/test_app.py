"""The assembled app: probes, metrics, the OpenAPI document, and the one error body shape."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from prometheus_client.parser import text_string_to_metric_families

from callrec import __version__
from callrec.app import API_PREFIX
from callrec.kit.settings import Settings
from tests.directory.factories import World

API = API_PREFIX
Headers = dict[str, str]
AsUser = Callable[..., Headers]
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
PUBLIC_ROUTES = {"POST /auth/login", "POST /auth/logout"}


def error_of(resp: Response, status: int, code: str) -> dict[str, Any]:
    """The error object, after checking the status, the code and the exact body shape."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    assert isinstance(error["details"], dict), error
    return error


def requests_total(client: TestClient) -> dict[tuple[str, str, str], float]:
    """callrec_http_requests_total by (method, route, status)."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    found: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            if sample.name == "callrec_http_requests_total":
                labels = sample.labels
                found[labels["method"], labels["route"], labels["status"]] = sample.value
    return found


# --- probes and the document ----------------------------------------------------------------


def test_healthz_answers_ok_without_credentials(client: TestClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "version": __version__}


def test_metrics_count_requests_by_route_template(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    admin = as_user("admin")
    alice = str(world.users["alice"].id)
    assert client.get(f"{API}/users/{alice}", headers=admin).status_code == 200
    assert client.get(f"{API}/users/{alice}", headers=admin).status_code == 200
    assert client.get(f"{API}/no-such-route").status_code == 404

    counts = requests_total(client)
    by_user = {k: v for k, v in counts.items() if k[1].endswith("/users/{user_id}")}
    # The template, not the path: the label set stays bounded however many users there are.
    assert len(by_user) == 1, counts
    (method, route, status), value = next(iter(by_user.items()))
    assert (method, status, value) == ("GET", "200", 2.0)
    assert route == f"{API}/users/{{user_id}}"  # the full template, prefix included
    assert counts["GET", "unmatched", "404"] == 1.0
    metrics = client.get("/metrics").text
    assert alice not in metrics
    assert "callrec_http_request_seconds_bucket" in metrics


def test_openapi_document_lists_the_api(client: TestClient) -> None:
    resp = client.get(f"{API}/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["info"]["title"] == "callrec"
    assert doc["info"]["version"] == __version__
    paths = doc["paths"]
    assert all(p.startswith(f"{API}/") for p in paths), sorted(paths)
    for path, method in [
        ("/auth/login", "post"),
        ("/me", "get"),
        ("/tokens/{token_id}", "delete"),
        ("/orgs/{org_id}", "patch"),
        ("/teams", "post"),
        ("/users/{user_id}", "get"),
        ("/devices/{device_id}/settings", "patch"),
        ("/org/settings", "get"),
        ("/policy/decision", "post"),
        ("/policy/what-if", "post"),
    ]:
        assert method in paths.get(f"{API}{path}", {}), f"{method.upper()} {path} missing"
    assert "/healthz" not in paths
    assert "/metrics" not in paths


# --- payload errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("PATCH", "/org/settings", b'{"incoming": "on"'),
        ("POST", "/teams", b"{'name': 'single quotes'}"),
        ("POST", "/policy/decision", b"not json at all"),
    ],
    ids=["truncated", "single-quoted", "not-json"],
)
def test_malformed_json_is_400(
    client: TestClient, as_user: AsUser, method: str, path: str, content: bytes
) -> None:
    headers = {**as_user("admin"), "content-type": "application/json"}
    resp = client.request(method, f"{API}{path}", content=content, headers=headers)
    error = error_of(resp, 400, "malformed_json")
    assert error["details"] == {}


def _settings_of(client: TestClient, headers: Headers) -> Any:
    return client.get(f"{API}/org/settings", headers=headers).json()


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/org/settings", {"incoming": "maybe"}, "incoming"),
        ("PATCH", "/org/settings", {"incoming": "on", "colour": "red"}, "colour"),
        ("PATCH", "/org/settings", {"beep_interval_s": "soon"}, "beep_interval_s"),
        ("PATCH", "/org/settings", {"beep_interval_s": 1}, "beep_interval_s"),
        ("POST", "/teams", {}, "name"),
        ("POST", "/teams", {"name": "   "}, "name"),
        ("POST", "/policy/what-if", {"direction": "in", "user": {}}, "direction"),
        (
            "POST",
            "/policy/what-if",
            {"direction": "incoming", "org": {"outgoing": "sometimes"}},
            "org.outgoing",
        ),
        ("POST", "/users", {"email": "not-an-email", "display_name": "X"}, "email"),
    ],
    ids=[
        "unknown-enum-value",
        "unknown-field",
        "wrong-type",
        "out-of-bounds",
        "missing-field",
        "blank-name",
        "bad-direction",
        "nested-enum",
        "bad-email",
    ],
)
def test_wrong_payload_shape_is_422_naming_the_field(
    client: TestClient, as_user: AsUser, method: str, path: str, body: Any, field: str
) -> None:
    admin = as_user("admin")
    before = _settings_of(client, admin)
    resp = client.request(method, f"{API}{path}", json=body, headers=admin)
    error = error_of(resp, 422, "invalid_payload")
    assert error["message"].startswith(f"{field}: "), error["message"]
    first = error["details"]["errors"][0]
    assert first["loc"] == ["body", *field.split(".")], first
    assert set(first) == {"loc", "msg", "type"}
    assert _settings_of(client, admin) == before


def test_a_body_that_is_not_an_object_is_422(client: TestClient, as_user: AsUser) -> None:
    resp = client.patch(f"{API}/org/settings", json=["incoming", "on"], headers=as_user("admin"))
    error = error_of(resp, 422, "invalid_payload")
    assert error["details"]["errors"][0]["loc"] == ["body"]


def test_a_path_id_that_is_not_a_uuid_is_422_naming_it(client: TestClient, as_user: AsUser) -> None:
    resp = client.get(f"{API}/users/alice", headers=as_user("admin"))
    error = error_of(resp, 422, "invalid_payload")
    assert "user_id" in error["message"]
    assert error["details"]["errors"][0]["loc"] == ["path", "user_id"]


# --- routing errors -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"{API}/no-such-thing", "/nowhere", f"{API}/users/x/y/z"])
def test_unknown_route_is_404_with_the_error_body(client: TestClient, path: str) -> None:
    error_of(client.get(path), 404, "not_found")


def test_unsupported_method_is_405_with_the_error_body(client: TestClient) -> None:
    resp = client.put(f"{API}/me", json={})
    error_of(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["allow"]


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "sign in"),
        ({"Authorization": "Bearer garbage"}, "unknown or revoked API token"),
        ({"Authorization": "Bearer crt_" + "A" * 43}, "unknown or revoked API token"),
        ({"Authorization": "Bearer "}, "sign in"),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, "sign in"),
        ({"Cookie": "callrec_session=crs_not-a-session"}, "session expired"),
    ],
    ids=["none", "garbage-bearer", "unknown-token", "empty-bearer", "basic", "bad-cookie"],
)
def test_bad_or_missing_credentials_are_401(
    client: TestClient, as_user: AsUser, headers: Headers, says: str
) -> None:
    admin = as_user("admin")
    before = _settings_of(client, admin)
    for method, path in [("GET", "/me"), ("GET", "/users"), ("PATCH", "/org/settings")]:
        resp = client.request(method, f"{API}{path}", json={"incoming": "on"}, headers=headers)
        error = error_of(resp, 401, "unauthenticated")
        assert says in error["message"], error
    assert _settings_of(client, admin) == before


def test_every_route_but_sign_in_needs_credentials(client: TestClient) -> None:
    doc = client.get(f"{API}/openapi.json").json()
    checked = 0
    for path, item in doc["paths"].items():
        for method in set(item) & HTTP_METHODS:
            route = f"{method.upper()} {path.removeprefix(API)}"
            if route in PUBLIC_ROUTES:
                continue
            url = re.sub(
                r"{(\w+)}", lambda m: "1" if m[1] == "sequence" else str(uuid.uuid4()), path
            )
            resp = client.request(method.upper(), url, json={})
            assert resp.status_code == 401, f"{route}: {resp.status_code} {resp.text}"
            error_of(resp, 401, "unauthenticated")
            checked += 1
    assert checked > 20


def test_a_revoked_token_is_401(client: TestClient, world: World, as_user: AsUser) -> None:
    alice = as_user("alice")
    token_id = client.get(f"{API}/tokens", headers=alice).json()[0]["id"]
    assert client.delete(f"{API}/tokens/{token_id}", headers=alice).status_code == 200
    error_of(client.get(f"{API}/me", headers=alice), 401, "unauthenticated")


# --- every error has the same shape ---------------------------------------------------------


def test_domain_errors_share_the_body_shape(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    admin, alice = as_user("admin"), as_user("alice")
    missing = uuid.uuid4()
    error = error_of(client.get(f"{API}/teams/{missing}", headers=admin), 404, "not_found")
    assert error["details"] == {"id": str(missing)}
    error_of(
        client.patch(f"{API}/org/settings", json={"incoming": "on"}, headers=alice),
        403,
        "forbidden",
    )
    error_of(client.post(f"{API}/teams", json={"name": "sales"}, headers=admin), 409, "conflict")
    error = error_of(
        client.patch(f"{API}/org/settings", json={"incoming": "inherit"}, headers=admin),
        422,
        "unprocessable",
    )
    assert error["details"] == {"fields": ["incoming"]}


def test_too_many_failed_logins_is_429_with_the_body_shape(
    client: TestClient, settings: Settings
) -> None:
    attempt = {"email": "nobody@acme.example.com", "password": "wrong-password"}
    for _ in range(settings.login_max_failures):
        error_of(client.post(f"{API}/auth/login", json=attempt), 401, "unauthenticated")
    error = error_of(client.post(f"{API}/auth/login", json=attempt), 429, "rate_limited")
    assert error["details"]["retry_after_s"] > 0
