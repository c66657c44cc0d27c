"""Sign-in, sessions, CSRF, the failed-login limit and API tokens over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from callrec.kit.clock import FakeClock
from tests.directory.factories import World

API = "/api/v1"
Headers = dict[str, str]
AsUser = Callable[..., Headers]
PASSWORD = "correct horse battery"
SESSION_COOKIE, CSRF_COOKIE = "callrec_session", "callrec_csrf"
TWELVE_HOURS = 12 * 3600


def ok(resp: Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def error(resp: Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code, body
    return body


def login(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    return client.post(f"{API}/auth/login", json={"email": email, "password": password})


@pytest.fixture
def alice(client: TestClient, world: World, as_user: AsUser) -> str:
    """alice's email, after an org admin gave her a password (hashing is slow: only here)."""
    user = world.users["alice"]
    ok(
        client.patch(
            f"{API}/users/{user.id}", headers=as_user("admin"), json={"password": PASSWORD}
        )
    )
    return user.email


def signed_in(client: TestClient, email: str) -> str:
    """Signs in through the client's cookie jar; returns the CSRF token to echo."""
    ok(login(client, email))
    return client.cookies[CSRF_COOKIE]


def me(client: TestClient, headers: Headers | None = None) -> Response:
    return client.get(f"{API}/me", headers=headers)


# --- signing in -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("alice@acme.example.com", id="email_as_stored"),
        pytest.param("Alice@ACME.example.com", id="email_in_another_case"),
        pytest.param("  alice@acme.example.com ", id="email_with_spaces"),
    ],
)
def test_login_sets_the_session_and_csrf_cookies(
    client: TestClient, world: World, alice: str, email: str
) -> None:
    resp = login(client, email)

    body = ok(resp)
    assert (body["id"], body["email"]) == (str(world.users["alice"].id), alice)
    cookies = {c.split("=", 1)[0]: c for c in resp.headers.get_list("set-cookie")}
    assert set(cookies) == {SESSION_COOKIE, CSRF_COOKIE}
    session_cookie = cookies[SESSION_COOKIE].lower()
    assert "httponly" in session_cookie
    assert "samesite=lax" in session_cookie
    assert f"max-age={TWELVE_HOURS}" in session_cookie
    # The page's script reads the CSRF cookie to echo it, so it cannot be HttpOnly.
    assert "httponly" not in cookies[CSRF_COOKIE].lower()
    assert client.cookies[SESSION_COOKIE].startswith("crs_")
    assert ok(me(client))["id"] == str(world.users["alice"].id)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("alice@acme.example.com", "wrong password", id="wrong_password"),
        pytest.param("nobody@acme.example.com", PASSWORD, id="unknown_email"),
        pytest.param("bob@acme.example.com", PASSWORD, id="user_without_password"),
        pytest.param("alice@acme.example.com", PASSWORD.upper(), id="password_is_case_sensitive"),
    ],
)
def test_failed_login_does_not_say_why(
    client: TestClient, alice: str, email: str, password: str
) -> None:
    resp = login(client, email, password)

    body = error(resp, 401, "unauthenticated")
    assert body["message"] == "wrong email or password"
    assert "set-cookie" not in resp.headers
    error(me(client), 401, "unauthenticated")


def test_deactivated_user_cannot_sign_in(
    client: TestClient, world: World, as_user: AsUser, alice: str
) -> None:
    user = world.users["alice"]
    ok(client.patch(f"{API}/users/{user.id}", headers=as_user("admin"), json={"is_active": False}))

    body = error(login(client, alice), 401, "unauthenticated")

    assert body["message"] == "wrong email or password"


def test_malformed_login_is_a_422(client: TestClient) -> None:
    resp = client.post(f"{API}/auth/login", json={"email": "alice@acme.example.com"})

    error(resp, 422, "invalid_payload")


# --- the failed-login limit -----------------------------------------------------------------


def test_five_failures_lock_the_email_even_for_the_right_password(
    client: TestClient, clock: FakeClock, alice: str
) -> None:
    for _ in range(5):
        error(login(client, alice, "guess"), 401, "unauthenticated")

    locked = error(login(client, alice), 429, "rate_limited")
    assert locked["details"] == {"retry_after_s": 301}
    assert SESSION_COOKIE not in client.cookies

    clock.advance(200)
    assert error(login(client, alice), 429, "rate_limited")["details"] == {"retry_after_s": 101}

    clock.advance(101)
    ok(login(client, alice))
    ok(me(client))


def test_a_successful_login_clears_earlier_failures(
    client: TestClient, clock: FakeClock, alice: str
) -> None:
    for _ in range(4):
        error(login(client, alice, "guess"), 401, "unauthenticated")
    ok(login(client, alice))

    for _ in range(4):
        error(login(client, alice, "guess"), 401, "unauthenticated")

    ok(login(client, alice))


def test_the_limit_is_per_email(client: TestClient, alice: str) -> None:
    for _ in range(5):
        error(login(client, "nobody@acme.example.com", "guess"), 401, "unauthenticated")

    error(login(client, "nobody@acme.example.com", "guess"), 429, "rate_limited")
    ok(login(client, alice))


# --- cookies and CSRF -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("csrf", "status"),
    [
        pytest.param(None, 403, id="no_header"),
        pytest.param("", 403, id="empty_header"),
        pytest.param("not-the-token", 403, id="wrong_header"),
        pytest.param("previous_session", 403, id="another_sessions_token"),
        pytest.param("cookie", 200, id="header_echoes_the_cookie"),
    ],
)
def test_cookie_authenticated_writes_need_the_csrf_header(
    client: TestClient, world: World, alice: str, csrf: str | None, status: int
) -> None:
    previous = signed_in(client, alice)
    current = signed_in(client, alice)
    tokens = {"previous_session": previous, "cookie": current}
    headers = {} if csrf is None else {"X-CSRF-Token": tokens.get(csrf, csrf)}
    path = f"{API}/users/{world.users['alice'].id}"

    resp = client.patch(path, headers=headers, json={"display_name": "Alice Cooper"})

    if status == 403:
        assert "CSRF" in error(resp, 403, "forbidden")["message"]
        assert ok(client.get(path))["display_name"] == "Alice"
    else:
        assert ok(resp)["display_name"] == "Alice Cooper"
        assert ok(client.get(path))["display_name"] == "Alice Cooper"


def test_cookie_session_issues_tokens_only_with_the_csrf_header(
    client: TestClient, alice: str
) -> None:
    csrf = signed_in(client, alice)

    error(client.post(f"{API}/tokens", json={"name": "ci"}), 403, "forbidden")
    assert ok(client.get(f"{API}/tokens")) == []

    issued = ok(
        client.post(f"{API}/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf}), 201
    )
    assert [t["id"] for t in ok(client.get(f"{API}/tokens"))] == [issued["id"]]


def test_logout_ends_the_session(client: TestClient, alice: str) -> None:
    signed_in(client, alice)
    cookie = client.cookies[SESSION_COOKIE]

    ok(client.post(f"{API}/auth/logout"), 204)

    assert SESSION_COOKIE not in client.cookies
    client.cookies.set(SESSION_COOKIE, cookie)
    error(me(client), 401, "unauthenticated")


def test_logout_ends_only_its_own_session(client: TestClient, alice: str) -> None:
    signed_in(client, alice)
    first = client.cookies[SESSION_COOKIE]
    signed_in(client, alice)

    ok(client.post(f"{API}/auth/logout"), 204)

    client.cookies.set(SESSION_COOKIE, first)
    ok(me(client))


@pytest.mark.parametrize(
    ("elapsed_s", "status"),
    [
        pytest.param(TWELVE_HOURS - 1, 200, id="just_before_twelve_hours"),
        pytest.param(TWELVE_HOURS + 1, 401, id="just_after_twelve_hours"),
        pytest.param(7 * 24 * 3600, 401, id="a_week_later"),
    ],
)
def test_sessions_expire_after_twelve_hours(
    client: TestClient, clock: FakeClock, alice: str, elapsed_s: int, status: int
) -> None:
    signed_in(client, alice)

    clock.advance(elapsed_s)

    if status == 200:
        ok(me(client))
    else:
        assert (
            error(me(client), 401, "unauthenticated")["message"] == "session expired or signed out"
        )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no_credentials"),
        pytest.param({"Authorization": "Bearer crt_made-up"}, id="unknown_token"),
        pytest.param({"Authorization": "Bearer "}, id="empty_bearer"),
        pytest.param({"Cookie": f"{SESSION_COOKIE}=crs_made-up"}, id="unknown_session"),
    ],
)
def test_requests_without_valid_credentials_are_401(
    client: TestClient, world: World, headers: Headers
) -> None:
    error(me(client, headers), 401, "unauthenticated")


# --- API tokens -----------------------------------------------------------------------------


def test_a_token_secret_is_shown_once_and_works_without_csrf(
    client: TestClient, world: World, as_user: AsUser
) -> None:
    alice = as_user("alice")

    issued = ok(client.post(f"{API}/tokens", headers=alice, json={"name": "ci"}), 201)

    secret = issued["token"]
    assert secret.startswith("crt_")
    assert issued["prefix"] == secret[:10]
    assert (issued["name"], issued["user_id"]) == ("ci", str(world.users["alice"].id))
    assert issued["revoked_at"] is None
    listed = ok(client.get(f"{API}/tokens", headers=alice))
    assert all("token" not in t for t in listed)
    assert secret not in str(listed)
    assert {k: v for k, v in issued.items() if k != "token"} in listed
    bearer = {"Authorization": f"Bearer {secret}"}
    path = f"{API}/users/{world.users['alice'].id}"
    assert (
        ok(client.patch(path, headers=bearer, json={"display_name": "Al"}))["display_name"] == "Al"
    )


def test_a_revoked_token_no_longer_authenticates(client: TestClient, as_user: AsUser) -> None:
    alice = as_user("alice")
    issued = ok(client.post(f"{API}/tokens", headers=alice, json={"name": "ci"}), 201)
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    ok(me(client, bearer))

    revoked = ok(client.delete(f"{API}/tokens/{issued['id']}", headers=alice))

    assert revoked["id"] == issued["id"]
    assert revoked["revoked_at"] is not None
    assert error(me(client, bearer), 401, "unauthenticated")["message"] == (
        "unknown or revoked API token"
    )
    listed = {t["id"]: t for t in ok(client.get(f"{API}/tokens", headers=alice))}
    assert listed[issued["id"]]["revoked_at"] == revoked["revoked_at"]
    ok(me(client, alice))


def test_users_see_their_own_tokens_and_admins_the_orgs(
    client: TestClient, world: World, other_world: World, as_user: AsUser
) -> None:
    admin, alice, bob = as_user("admin"), as_user("alice"), as_user("bob")
    as_user("admin", other_world)
    owners = {str(u.id): k for k, u in world.users.items()}

    def listed(headers: Headers) -> list[str]:
        return sorted(
            owners[t["user_id"]] for t in ok(client.get(f"{API}/tokens", headers=headers))
        )

    assert listed(alice) == ["alice"]
    assert listed(bob) == ["bob"]
    assert listed(admin) == ["admin", "alice", "bob"]


@pytest.mark.parametrize(
    ("who", "owner", "status"),
    [
        pytest.param("alice", "admin", 403, id="user_cannot_revoke_admins_token"),
        pytest.param("alice", "bob", 403, id="user_cannot_revoke_another_users_token"),
        pytest.param("supervisor", "alice", 403, id="supervisor_cannot_revoke_members_token"),
        pytest.param("admin", "alice", 200, id="admin_revokes_a_users_token"),
        pytest.param("alice", "alice", 200, id="user_revokes_own_token"),
    ],
)
def test_who_may_revoke_a_token(
    client: TestClient, world: World, as_user: AsUser, who: str, owner: str, status: int
) -> None:
    headers = as_user(who)
    issued = ok(client.post(f"{API}/tokens", headers=as_user(owner), json={"name": "t"}), 201)
    bearer = {"Authorization": f"Bearer {issued['token']}"}

    resp = client.delete(f"{API}/tokens/{issued['id']}", headers=headers)

    if status == 403:
        error(resp, 403, "forbidden")
        assert ok(me(client, bearer))["id"] == str(world.users[owner].id)
    else:
        assert ok(resp)["revoked_at"] is not None
        error(me(client, bearer), 401, "unauthenticated")


@pytest.mark.parametrize(
    "token",
    [pytest.param("other_org", id="another_orgs_token"), pytest.param("random", id="unknown")],
)
def test_revoking_a_token_outside_the_org_is_not_found(
    client: TestClient, other_world: World, as_user: AsUser, token: str
) -> None:
    theirs = as_user("admin", other_world)
    issued = ok(client.post(f"{API}/tokens", headers=theirs, json={"name": "t"}), 201)
    token_id = issued["id"] if token == "other_org" else str(uuid.uuid4())

    error(client.delete(f"{API}/tokens/{token_id}", headers=as_user("admin")), 404, "not_found")

    ok(me(client, {"Authorization": f"Bearer {issued['token']}"}))


def test_a_deactivated_users_credentials_stop_working(
    client: TestClient, world: World, as_user: AsUser, alice: str
) -> None:
    bearer = as_user("alice")
    signed_in(client, alice)
    user = world.users["alice"]

    ok(client.patch(f"{API}/users/{user.id}", headers=as_user("admin"), json={"is_active": False}))

    assert error(me(client, bearer), 401, "unauthenticated")["message"] == "account disabled"
    assert error(me(client), 401, "unauthenticated")["message"] == "account disabled"
    ok(client.patch(f"{API}/users/{user.id}", headers=as_user("admin"), json={"is_active": True}))
    ok(me(client, bearer))
    ok(me(client))
