"""What the running application writes to the audit log (through the real API), and the admin
API reading it: filters, keyset pages, tenancy, verification."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.audit.chain import verify
from callrec.audit.repository import AuditRepository
from callrec.audit.service import AuditAction, AuditLog
from callrec.kit.clock import FakeClock
from callrec.models import AuditEvent
from tests.directory.factories import World

API = "/api/v1"
Headers = dict[str, str]
AsUser = Callable[..., Headers]
PASSWORD = "correct horse battery"


def ok(resp: Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def events(session: Session, action: AuditAction | None = None) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query).all())


def last(session: Session, action: AuditAction) -> AuditEvent:
    found = events(session, action)
    assert found, f"no {action} event"
    return found[-1]


@pytest.fixture
def alice(client: TestClient, world: World, as_user: AsUser) -> str:
    user = world.users["alice"]
    ok(
        client.patch(
            f"{API}/users/{user.id}", headers=as_user("admin"), json={"password": PASSWORD}
        )
    )
    return user.email


# --- what is written --------------------------------------------------------------------------


def test_a_login_says_who_when_and_from_where(
    client: TestClient, session: Session, world: World, alice: str, clock: FakeClock
) -> None:
    clock.advance(60)
    ok(client.post(f"{API}/auth/login", json={"email": alice, "password": PASSWORD}))
    event = last(session, AuditAction.LOGIN)
    user = world.users["alice"]
    assert (event.org_id, event.actor_id, event.subject) == (
        user.org_id,
        user.id,
        f"user:{user.id}",
    )
    assert event.occurred_at == clock.now()
    assert event.client == "testclient"
    assert event.details == {"email": alice, "method": "password"}


def test_a_failed_login_is_kept_although_the_request_fails(
    client: TestClient, session: Session, world: World, alice: str
) -> None:
    resp = client.post(f"{API}/auth/login", json={"email": alice, "password": "wrong password"})
    assert resp.status_code == 401
    event = last(session, AuditAction.LOGIN_FAILED)
    # Refused attempts belong to no org: an unauthenticated request writes into no tenant's log.
    assert (event.org_id, event.actor_id) == (None, None)
    assert event.subject == f"user:{world.users['alice'].id}"
    assert event.details == {"email": alice, "reason": "wrong_password"}
    assert event.client == "testclient"

    client.post(f"{API}/auth/login", json={"email": "nobody@x.example", "password": "whatever1"})
    event = last(session, AuditAction.LOGIN_FAILED)
    assert (event.subject, event.details["reason"]) == (None, "unknown_email")


def test_refusals_after_the_failure_limit_are_audited_too(
    client: TestClient, session: Session, alice: str
) -> None:
    statuses = [
        client.post(
            f"{API}/auth/login", json={"email": alice, "password": "wrong guess"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    reasons = [e.details["reason"] for e in events(session, AuditAction.LOGIN_FAILED)]
    assert reasons == ["wrong_password"] * 5 + ["rate_limited"]


@pytest.mark.parametrize("level", ["org", "team", "user", "device"])
def test_a_settings_change_records_before_and_after_at_each_level(
    client: TestClient, session: Session, world: World, as_user: AsUser, level: str
) -> None:
    admin = as_user("admin")
    ref = {
        "org": world.org.id, "team": world.teams["sales"].id,
        "user": world.users["alice"].id, "device": world.devices["alice"].id,
    }[level]  # fmt: skip
    path = "/org/settings" if level == "org" else f"/{level}s/{ref}/settings"
    body = {"incoming": "on", "beep": "on", "beep_interval_s": 30}
    before = ok(client.get(API + path, headers=admin))
    ok(client.patch(API + path, headers=admin, json=body))
    event = last(session, AuditAction.SETTINGS_CHANGED)
    assert event.subject == f"{level}:{ref}"
    assert (event.org_id, event.actor_id) == (world.org.id, world.users["admin"].id)
    assert event.details == {
        "level": level,
        "changes": {name: {"before": before[name], "after": value} for name, value in body.items()},
    }
    count = len(events(session, AuditAction.SETTINGS_CHANGED))
    ok(client.patch(API + path, headers=admin, json=body))  # the same values: nothing changed
    assert len(events(session, AuditAction.SETTINGS_CHANGED)) == count


def test_a_refused_change_leaves_no_event(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    alice = as_user("alice")
    before = len(events(session))
    resp = client.patch(f"{API}/org/settings", headers=alice, json={"incoming": "on"})
    assert resp.status_code == 403
    resp = client.patch(
        f"{API}/users/{world.users['bob'].id}", headers=alice, json={"role": "org_admin"}
    )
    assert resp.status_code == 403
    assert len(events(session)) == before


def test_role_scope_and_team_changes_are_permission_changes(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    bob, sales, support = world.users["bob"], world.teams["sales"], world.teams["support"]
    body = {"role": "supervisor", "playback_scope": "member_groups",
            "management_scope": "teams", "managed_team_ids": [str(sales.id)],
            "member_team_ids": [str(sales.id)]}  # fmt: skip
    ok(client.patch(f"{API}/users/{bob.id}", headers=as_user("admin"), json=body))
    event = last(session, AuditAction.PERMISSION_CHANGED)
    assert (event.subject, event.actor_id) == (f"user:{bob.id}", world.users["admin"].id)
    assert event.details["change"] == "updated" and event.details["email"] == bob.email
    assert event.details["changes"] == {
        "role": {"before": "user", "after": "supervisor"},
        "playback_scope": {"before": "own", "after": "member_groups"},
        "management_scope": {"before": "me", "after": "teams"},
        "managed_team_ids": {"before": [], "after": [str(sales.id)]},
        # bob's primary team (support) stays a membership.
        "member_team_ids": {"before": [str(support.id)], "after": sorted([str(sales.id),
                                                                          str(support.id)])},
    }  # fmt: skip


def test_a_password_change_is_audited_without_the_password(
    client: TestClient, session: Session, world: World, alice: str
) -> None:
    event = last(session, AuditAction.PASSWORD_CHANGED)
    assert event.subject == f"user:{world.users['alice'].id}"
    assert event.actor_id == world.users["admin"].id
    assert event.details == {"email": alice}
    assert PASSWORD not in repr([e.details for e in events(session)])


def test_licence_changes_are_permission_changes(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    carol = world.users["carol"]
    ok(
        client.patch(
            f"{API}/users/{carol.id}", headers=as_user("admin"), json={"has_licence": True}
        )
    )
    event = last(session, AuditAction.PERMISSION_CHANGED)
    assert event.details["changes"] == {"has_licence": {"before": False, "after": True}}

    world.users["admin"].is_platform_admin = True
    session.commit()
    ok(client.patch(f"{API}/orgs/{world.org.id}", headers=as_user("admin"),
                    json={"licences_purchased": 25}))  # fmt: skip
    event = last(session, AuditAction.PERMISSION_CHANGED)
    assert event.subject == f"org:{world.org.id}"
    assert event.details == {
        "change": "licences",
        "changes": {"licences_purchased": {"before": 10, "after": 25}},
    }


def test_a_name_change_is_no_permission_change_and_a_deletion_is(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    admin, bob = as_user("admin"), world.users["bob"].id
    count = len(events(session, AuditAction.PERMISSION_CHANGED))
    ok(client.patch(f"{API}/users/{bob}", headers=admin, json={"display_name": "Robert"}))
    assert len(events(session, AuditAction.PERMISSION_CHANGED)) == count
    ok(client.delete(f"{API}/users/{bob}", headers=admin), 204)
    event = last(session, AuditAction.PERMISSION_CHANGED)
    assert (event.subject, event.details["change"]) == (f"user:{bob}", "deleted")
    assert event.details["changes"]["role"] == {"before": "user", "after": None}


def test_token_issue_and_revocation_are_audited(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    alice = as_user("alice")
    token = ok(client.post(f"{API}/tokens", headers=alice, json={"name": "laptop"}), 201)
    issued = last(session, AuditAction.TOKEN_ISSUED)
    assert issued.subject == f"token:{token['id']}" and issued.details["name"] == "laptop"
    assert issued.client == "testclient"  # bound by the request edge, not passed by the service
    ok(client.delete(f"{API}/tokens/{token['id']}", headers=alice))
    revoked = last(session, AuditAction.TOKEN_REVOKED)
    assert revoked.subject == issued.subject
    assert revoked.actor_id == world.users["alice"].id


def test_every_event_the_app_wrote_is_on_one_intact_chain(
    client: TestClient, session: Session, world: World, other_world: World, as_user: AsUser
) -> None:
    admin = as_user("admin")
    ok(client.patch(f"{API}/org/settings", headers=admin, json={"incoming": "on"}))
    client.post(f"{API}/auth/login", json={"email": "x@y.example", "password": "whatever1"})
    result = verify(AuditRepository(session).walk())
    assert result.ok and result.count == len(events(session)) > 10


# --- reading: GET /audit/events and /audit/verify ---------------------------------------------


def page(client: TestClient, headers: Headers, **params: Any) -> Any:
    return ok(client.get(f"{API}/audit/events", headers=headers, params=params))


def test_org_admins_read_their_org_only_and_others_not_at_all(
    client: TestClient, world: World, other_world: World, as_user: AsUser
) -> None:
    body = page(client, as_user("admin"), limit=500)
    assert body["events"] and {e["org_id"] for e in body["events"]} == {str(world.org.id)}
    for role in ("supervisor", "alice"):
        resp = client.get(f"{API}/audit/events", headers=as_user(role))
        assert resp.status_code == 403 and "audit log" in resp.json()["error"]["message"]
    resp = client.get(f"{API}/audit/events", headers=as_user("admin"),
                      params={"org": str(other_world.org.id)})  # fmt: skip
    assert resp.status_code == 404
    # Filtering by another org's user finds nothing rather than their events.
    other_alice = other_world.users["alice"].id
    assert page(client, as_user("admin"), user=str(other_alice))["events"] == []


def test_platform_admins_read_every_org_and_the_installations_events(
    client: TestClient, session: Session, world: World, other_world: World, as_user: AsUser
) -> None:
    world.users["admin"].is_platform_admin = True
    session.commit()
    headers = as_user("admin")
    client.post(f"{API}/auth/login", json={"email": "x@y.example", "password": "whatever1"})
    orgs = {e["org_id"] for e in page(client, headers, limit=500)["events"]}
    assert orgs == {str(world.org.id), str(other_world.org.id), None}
    only = page(client, headers, org=str(other_world.org.id), limit=500)["events"]
    assert only and {e["org_id"] for e in only} == {str(other_world.org.id)}


def test_filters_by_user_call_action_and_time(
    client: TestClient, session: Session, world: World, as_user: AsUser, clock: FakeClock
) -> None:
    headers = as_user("admin")
    alice, bob = world.users["alice"], world.users["bob"]
    call = uuid.uuid4()
    log = AuditLog(session, clock)
    start = clock.now()
    for user, action in ((alice, AuditAction.PLAYBACK), (bob, AuditAction.PLAYBACK),
                         (alice, AuditAction.DOWNLOAD)):  # fmt: skip
        clock.advance(60)
        log.append(action, org_id=world.org.id, actor_id=user.id,
                   subject=f"recording:{uuid.uuid4()}", call_id=call)  # fmt: skip
    session.commit()

    by_call = page(client, headers, call=str(call))["events"]
    assert [(e["actor_id"], e["action"]) for e in by_call] == [
        (str(alice.id), "recording.download"),
        (str(bob.id), "recording.playback"),
        (str(alice.id), "recording.playback"),
    ]
    assert all(e["call_id"] == str(call) for e in by_call)
    both = page(client, headers, call=str(call), user=str(alice.id), action="recording.playback")
    assert [e["seq"] for e in both["events"]] == [by_call[2]["seq"]]
    # user also matches events about the user, whoever the actor: her creation in the factory.
    about = page(client, headers, user=str(alice.id), action="permission.changed")["events"]
    assert [e["details"]["change"] for e in about] == ["created"]
    window = page(client, headers, call=str(call),
                  since=(start + timedelta(seconds=60)).isoformat(),
                  until=(start + timedelta(seconds=180)).isoformat())  # fmt: skip
    # since is inclusive, until exclusive.
    assert [e["seq"] for e in window["events"]] == [by_call[1]["seq"], by_call[2]["seq"]]


def test_keyset_pages_are_stable_while_events_are_appended(
    client: TestClient, session: Session, world: World, as_user: AsUser, clock: FakeClock
) -> None:
    headers = as_user("admin")
    log = AuditLog(session, clock)
    for n in range(7):
        log.append(AuditAction.PLAYBACK, org_id=world.org.id, actor_id=None, subject=f"r:{n}")
    session.commit()
    seen: list[str] = []
    cursor = None
    while True:
        params = {"action": "recording.playback", "limit": 3}
        body = page(client, headers, **params, **({"cursor": cursor} if cursor else {}))
        seen += [e["subject"] for e in body["events"]]
        # Appends between pages land before the first page, never inside the walk.
        log.append(AuditAction.PLAYBACK, org_id=world.org.id, actor_id=None, subject="new")
        session.commit()
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"r:{n}" for n in reversed(range(7))]


def test_bad_query_input_gets_a_clear_error(client: TestClient, as_user: AsUser) -> None:
    headers = as_user("admin")
    cases = {
        (("since", "2026-01-01T00:00:00"),): (400, "since needs a time zone"),
        (("cursor", "abc"),): (400, "cursor is not one this API returned"),
        (("action", "auth.lgoin"),): (422, "action"),
        (("limit", "0"),): (422, "limit"),
    }
    for params, (status, text) in cases.items():
        resp = client.get(f"{API}/audit/events", headers=headers, params=dict(params))
        assert resp.status_code == status, resp.text
        assert text in resp.json()["error"]["message"]


def test_verify_is_for_platform_admins(
    client: TestClient, session: Session, world: World, as_user: AsUser
) -> None:
    resp = client.get(f"{API}/audit/verify", headers=as_user("admin"))
    assert resp.status_code == 403
    world.users["admin"].is_platform_admin = True
    session.commit()
    body = ok(client.get(f"{API}/audit/verify", headers=as_user("admin")))
    chain = events(session)
    assert body == {"ok": True, "count": len(chain), "head_seq": chain[-1].seq,
                    "head_hash": chain[-1].hash, "broken": None}  # fmt: skip
    wrong = f"{chain[-1].seq}:{'0' * 64}"
    body = ok(client.get(f"{API}/audit/verify", headers=as_user("admin"), params={"anchor": wrong}))
    assert body["ok"] is False and body["broken"]["kind"] == "rewritten"
    resp = client.get(f"{API}/audit/verify", headers=as_user("admin"), params={"anchor": "x"})
    assert resp.status_code == 400
