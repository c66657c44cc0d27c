"""Tenant isolation for every route: no request reads or changes another org's data.

Org A is ``world`` (acme), org B is ``other_world`` (globex). Requests are made as org B's org
admin, the most privileged org user, aimed at org A's objects. ``ROUTES`` classifies every
(method, path) of the OpenAPI document; ``test_every_route_is_classified`` fails as soon as a
route is added without an isolation case here.

After every request the rows of org A (read straight from the test connection) and its blobs
must be exactly as before, and neither the answer nor a queued job may name any of org A's ids,
emails or AORs, except those the request itself sent. A refused request must change nothing at
all: no row, no blob, no job.
"""

from __future__ import annotations

import io
import re
import uuid
import wave
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Connection, Table, or_, select
from sqlalchemy.orm import Session

from callrec.app import API_PREFIX
from callrec.kit.ids import hash_secret
from callrec.kit.settings import Settings
from callrec.models import ApiToken, Base, Recording, RecordingState, SavedReportFilter
from callrec.storage import MemoryBlobStore
from callrec.worker.queue import MemoryQueue
from tests.consent.factories import make_tone_announcement, tone_mp3
from tests.directory.factories import World

Headers = dict[str, str]
AsUser = Callable[..., Headers]
Rows = dict[str, list[dict[str, Any]]]

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
NOT_FOUND = (404,)
# Cross-org use of /orgs/{org_id} is for platform admins: an org admin gets 403 for any id,
# existing or not, so the status reveals nothing. A 404 would be fine too.
PLATFORM_ONLY = (403, 404)


@dataclass(frozen=True)
class Case:
    statuses: tuple[int, ...]
    body: Any = None
    names_own: bool = False  # the answer must name something of org B's: the check isn't vacuous
    audio: bool = False  # the body is a small WAV file instead of JSON
    mp3: bool = False  # the body is a multipart form: a name and a small MP3 file


# Path parameter → org A's object it is filled with (see ``Tenants.values``). A segment's
# ``sequence`` is no id: it is only ever looked up within the call the path names.
ID_PARAMETERS = {
    "org_id", "team_id", "user_id", "device_id", "token_id", "call_id", "recording_id",
    "announcement_id", "filter_id",
}  # fmt: skip
PATH_PARAMETERS = ID_PARAMETERS | {"sequence"}

# Routes naming an object in the path, called with org A's ids: 404, exactly as for an id that
# does not exist. Bodies are minimal valid payloads, so a missing tenant check would succeed.
BY_ID: dict[str, Case] = {
    "GET /orgs/{org_id}": Case(PLATFORM_ONLY),
    "PATCH /orgs/{org_id}": Case(PLATFORM_ONLY, {"name": "Taken", "licences_purchased": 0}),
    "GET /teams/{team_id}": Case(NOT_FOUND),
    "PATCH /teams/{team_id}": Case(NOT_FOUND, {"name": "taken"}),
    "DELETE /teams/{team_id}": Case(NOT_FOUND),
    "GET /teams/{team_id}/settings": Case(NOT_FOUND),
    "PATCH /teams/{team_id}/settings": Case(NOT_FOUND, {"incoming": "on"}),
    "GET /users/{user_id}": Case(NOT_FOUND),
    "PATCH /users/{user_id}": Case(NOT_FOUND, {"display_name": "Taken", "role": "user"}),
    "DELETE /users/{user_id}": Case(NOT_FOUND),
    "GET /users/{user_id}/settings": Case(NOT_FOUND),
    "PATCH /users/{user_id}/settings": Case(NOT_FOUND, {"incoming": "on"}),
    "GET /devices/{device_id}": Case(NOT_FOUND),
    "PATCH /devices/{device_id}": Case(NOT_FOUND, {"name": "taken"}),
    "DELETE /devices/{device_id}": Case(NOT_FOUND),
    "GET /devices/{device_id}/settings": Case(NOT_FOUND),
    "PATCH /devices/{device_id}/settings": Case(NOT_FOUND, {"outgoing": "off"}),
    "DELETE /tokens/{token_id}": Case(NOT_FOUND),
    "GET /calls/{call_id}": Case(NOT_FOUND),
    "PUT /calls/{call_id}/segments/{sequence}/recording": Case(NOT_FOUND, audio=True),
    "GET /recordings/{recording_id}": Case(NOT_FOUND),
    "GET /calls/{call_id}/session": Case(NOT_FOUND),
    "POST /recordings/{recording_id}/playback": Case(NOT_FOUND),
    "GET /recordings/{recording_id}/stream": Case(NOT_FOUND),
    "GET /recordings/{recording_id}/download": Case(NOT_FOUND),
    "GET /recordings/{recording_id}/peaks": Case(NOT_FOUND),
    "GET /announcements/{announcement_id}": Case(NOT_FOUND),
    "PATCH /announcements/{announcement_id}": Case(NOT_FOUND, {"name": "taken"}),
    "DELETE /announcements/{announcement_id}": Case(NOT_FOUND),
    "GET /announcements/{announcement_id}/audio": Case(NOT_FOUND),
    "GET /reports/saved-filters/{filter_id}": Case(NOT_FOUND),
    "PATCH /reports/saved-filters/{filter_id}": Case(NOT_FOUND, {"name": "taken"}),
    "DELETE /reports/saved-filters/{filter_id}": Case(NOT_FOUND),
}

# Lists and the caller's own objects: only org B's rows.
LISTS: dict[str, Case] = {
    "GET /me": Case((200,), names_own=True),
    "GET /tokens": Case((200,), names_own=True),
    "GET /orgs": Case((200,), names_own=True),
    "GET /org": Case((200,), names_own=True),
    "GET /org/settings": Case((200,)),
    "GET /teams": Case((200,), names_own=True),
    "GET /users": Case((200,), names_own=True),
    "GET /devices": Case((200,), names_own=True),
    "GET /announcements": Case((200,), names_own=True),
    "GET /org/consent-settings": Case((200,)),
    "GET /tts/voices": Case((200,)),
    "GET /audit/events": Case((200,), names_own=True),
    "GET /reports/calls": Case((200,)),
    "GET /me/calls": Case((200,)),
    "GET /reports/calls/export.csv": Case((200,)),
    "GET /me/calls/export.csv": Case((200,)),
    "GET /reports/saved-filters": Case((200,)),
}

# Writes that name no object: they act on the caller's own org (or need a platform admin).
OWN_ORG: dict[str, Case] = {
    "POST /teams": Case((201,), {"name": "isolation"}, names_own=True),
    "POST /tokens": Case((201,), {"name": "isolation"}, names_own=True),
    "PATCH /org/settings": Case((200,), {"incoming": "on", "outgoing": "on"}),
    "POST /orgs": Case((403,), {"name": "Acme Two", "slug": "acme-two"}),
    "POST /auth/logout": Case((204,)),
    "POST /auth/login": Case((401,), {"email": "admin@acme.example.com", "password": "guessing"}),
    "POST /announcements/mp3": Case((201,), names_own=True, mp3=True),
    "POST /announcements/tts": Case((201,), {"name": "isolation", "text": "Hi."}, names_own=True),
    "POST /tts/preview": Case((200,), {"text": "Hello."}),
    "PATCH /org/consent-settings": Case((200,), {"ask_timeout_s": 5, "prompt_voice": "fr"}),
    "GET /audit/verify": Case((403,)),  # platform admins only: the chain spans every org
    "POST /reports/saved-filters": Case((201,), {"name": "isolation"}, names_own=True),
}

# Routes naming org A's objects in the body ("<name>" placeholders): 404, nothing created.
# ``BODY_VARIANTS`` tries every field of them that can name another org's object.
BY_BODY: dict[str, Case] = {
    "POST /users": Case(
        NOT_FOUND,
        {"email": "new@globex.example.com", "display_name": "New", "primary_team_id": "<team_id>"},
    ),
    "POST /devices": Case(
        NOT_FOUND,
        {"user_id": "<user_id>", "name": "n", "sip_username": "n", "aor": "sip:n@globex.test"},
    ),
    "POST /policy/decision": Case(NOT_FOUND, {"direction": "incoming", "device_id": "<device_id>"}),
    "POST /policy/what-if": Case(
        NOT_FOUND, {"direction": "outgoing", "user_id": "<user_id>", "user": {"outgoing": "on"}}
    ),
    "POST /calls": Case(
        NOT_FOUND,
        {
            "external_id": "globex-call",
            "direction": "inbound",
            "started_at": "2026-01-01T10:00:00Z",
            "segments": [
                {"sequence": 1, "user_id": "<user_id>", "started_at": "2026-01-01T10:00:00Z"}
            ],
        },
    ),
}

ROUTES: dict[str, Case] = {**BY_ID, **LISTS, **OWN_ORG, **BY_BODY}

_NEW_USER = {"email": "new@globex.example.com", "display_name": "New"}
_NEW_DEVICE = {"name": "n", "sip_username": "n", "aor": "sip:n@globex.test"}
_INCOMING = {"direction": "incoming"}
_WHAT_IF = {"direction": "incoming", "org": {"incoming": "on"}, "has_licence": True}
_AT = "2026-01-01T10:00:00Z"
_CALL = {"external_id": "globex-call", "direction": "inbound", "started_at": _AT}
_SEGMENT = {"sequence": 1, "started_at": _AT}

# (test id, method, path, body, statuses): every body field that can name another org's object.
BODY_VARIANTS: list[tuple[str, str, str, Any, tuple[int, ...]]] = [
    ("POST /users primary_team_id", "POST", "/users",
     {**_NEW_USER, "primary_team_id": "<team_id>"}, NOT_FOUND),
    ("POST /users member_team_ids", "POST", "/users",
     {**_NEW_USER, "member_team_ids": ["<team_id>"]}, NOT_FOUND),
    ("POST /users member_team_ids mixed", "POST", "/users",
     {**_NEW_USER, "member_team_ids": ["<own_team_id>", "<team_id>"]}, NOT_FOUND),
    ("POST /users managed_team_ids", "POST", "/users",
     {**_NEW_USER, "role": "supervisor", "management_scope": "teams",
      "managed_team_ids": ["<team_id>"]}, NOT_FOUND),
    ("POST /devices user_id", "POST", "/devices",
     {**_NEW_DEVICE, "user_id": "<user_id>"}, NOT_FOUND),
    ("PATCH /users/{own} primary_team_id", "PATCH", "/users/{own_user_id}",
     {"primary_team_id": "<team_id>"}, NOT_FOUND),
    ("PATCH /users/{own} member_team_ids", "PATCH", "/users/{own_user_id}",
     {"member_team_ids": ["<team_id>"]}, NOT_FOUND),
    ("PATCH /users/{own} managed_team_ids", "PATCH", "/users/{own_user_id}",
     {"managed_team_ids": ["<team_id>"]}, NOT_FOUND),
    ("PATCH /devices/{own} user_id", "PATCH", "/devices/{own_device_id}",
     {"user_id": "<user_id>"}, NOT_FOUND),
    ("POST /policy/decision device_id", "POST", "/policy/decision",
     {**_INCOMING, "device_id": "<device_id>"}, NOT_FOUND),
    ("POST /policy/decision user_id", "POST", "/policy/decision",
     {**_INCOMING, "user_id": "<user_id>"}, NOT_FOUND),
    ("POST /policy/decision aor", "POST", "/policy/decision",
     {**_INCOMING, "aor": "<aor>"}, NOT_FOUND),
    ("POST /policy/decision user extension", "POST", "/policy/decision",
     {**_INCOMING, "extension": "<user_extension>"}, NOT_FOUND),
    ("POST /policy/decision device extension", "POST", "/policy/decision",
     {**_INCOMING, "extension": "<device_extension>"}, NOT_FOUND),
    ("POST /policy/what-if device_id", "POST", "/policy/what-if",
     {**_WHAT_IF, "device_id": "<device_id>"}, NOT_FOUND),
    ("POST /policy/what-if user_id", "POST", "/policy/what-if",
     {**_WHAT_IF, "user_id": "<user_id>"}, NOT_FOUND),
    ("POST /policy/what-if aor", "POST", "/policy/what-if",
     {**_WHAT_IF, "aor": "<aor>"}, NOT_FOUND),
    ("POST /policy/what-if user extension", "POST", "/policy/what-if",
     {**_WHAT_IF, "extension": "<user_extension>"}, NOT_FOUND),
    ("POST /policy/what-if device extension", "POST", "/policy/what-if",
     {**_WHAT_IF, "extension": "<device_extension>"}, NOT_FOUND),
    ("POST /calls team_ids", "POST", "/calls",
     {**_CALL, "team_ids": ["<team_id>"], "segments": [_SEGMENT]}, NOT_FOUND),
    ("POST /calls segment user_id", "POST", "/calls",
     {**_CALL, "segments": [{**_SEGMENT, "user_id": "<user_id>"}]}, NOT_FOUND),
    ("POST /calls segment device_id", "POST", "/calls",
     {**_CALL, "segments": [{**_SEGMENT, "device_id": "<device_id>"}]}, NOT_FOUND),
    ("POST /calls segment user extension", "POST", "/calls",
     {**_CALL, "segments": [{**_SEGMENT, "extension": "<user_extension>"}]}, NOT_FOUND),
    ("POST /calls segment device extension", "POST", "/calls",
     {**_CALL, "segments": [{**_SEGMENT, "extension": "<device_extension>"}]}, NOT_FOUND),
    ("POST /calls second segment user_id", "POST", "/calls",
     {**_CALL, "segments": [{**_SEGMENT, "user_id": "<own_user_id>"},
                            {**_SEGMENT, "sequence": 2, "user_id": "<user_id>"}]}, NOT_FOUND),
    ("PATCH /org/settings announcement_id", "PATCH", "/org/settings",
     {"announcement": "play", "announcement_id": "<announcement_id>"}, NOT_FOUND),
    ("PATCH /teams/{own} announcement_id", "PATCH", "/teams/{own_team_id}/settings",
     {"announcement_id": "<announcement_id>"}, NOT_FOUND),
    ("PATCH /users/{own} announcement_id", "PATCH", "/users/{own_user_id}/settings",
     {"announcement": "play", "announcement_id": "<announcement_id>"}, NOT_FOUND),
    ("PATCH /devices/{own} announcement_id", "PATCH", "/devices/{own_device_id}/settings",
     {"announcement_id": "<announcement_id>"}, NOT_FOUND),
    ("POST /reports/saved-filters shared_team_id", "POST", "/reports/saved-filters",
     {"name": "isolation", "shared_team_id": "<team_id>"}, NOT_FOUND),
    ("POST /calls participant user_id", "POST", "/calls",
     {**_CALL, "segments": [_SEGMENT],
      "participants": [{"user_id": "<user_id>", "joined_at": _AT}]}, NOT_FOUND),
]  # fmt: skip


def wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(rate * seconds))
    return buffer.getvalue()


# --- fixtures and helpers -------------------------------------------------------------------


@dataclass
class Tenants:
    a: World
    b: World
    b_admin: Headers
    values: dict[str, str]  # placeholder → value, for paths ({name}) and bodies ("<name>")
    blobs: MemoryBlobStore
    queue: MemoryQueue


def org_a_call(
    client: TestClient, session: Session, world: World, admin: Headers, alice: Headers
) -> Recording:
    """A call of org A's with one segment (alice's phone) and a recording of it. The recording
    row is inserted directly: the upload route would also need the processing pipeline."""
    at = "2026-01-01T09:00:00Z"
    call = client.post(
        f"{API_PREFIX}/calls",
        headers=admin,
        json={
            "external_id": "acme-call",
            "direction": "inbound",
            "started_at": at,
            "segments": [{"sequence": 1, "device_id": str(world.devices["alice"].id),
                          "started_at": at}],
        },
    )  # fmt: skip
    assert call.status_code == 201, call.text
    recording = Recording(
        org_id=world.org.id,
        call_id=uuid.UUID(call.json()["id"]),
        segment_id=uuid.UUID(call.json()["segments"][0]["id"]),
        state=RecordingState.CAPTURED,
        quality_flags=[],
    )
    session.add(recording)
    session.commit()
    # alice took part, so she may see it: org B's 404s are about the org, not a broken row.
    mine = client.get(f"{API_PREFIX}/recordings/{recording.id}", headers=alice)
    assert mine.status_code == 200, mine.text
    return recording


@pytest.fixture
def tenants(
    client: TestClient,
    session: Session,
    world: World,
    other_world: World,
    as_user: AsUser,
    blobs: MemoryBlobStore,
    queue: MemoryQueue,
    settings: Settings,
) -> Tenants:
    # Extensions only org A has (the factory gives both orgs alice 201 and bob 202).
    world.users["carol"].extension = "9001"
    world.devices["bob"].extension = "9002"
    session.commit()
    a_admin = as_user("admin")
    a_alice = as_user("alice")
    b_admin = as_user("admin", other_world)
    for headers in (a_admin, b_admin):  # the first use stamps last_used_at; do it up front
        assert client.get(f"{API_PREFIX}/me", headers=headers).status_code == 200
    a_token = session.scalar(
        select(ApiToken.id).where(
            ApiToken.org_id == world.org.id, ApiToken.user_id == world.users["admin"].id
        )
    )
    session.commit()
    recording = org_a_call(client, session, world, a_admin, a_alice)
    announcement = make_tone_announcement(session, blobs, settings, world.org, seconds=0.5)
    make_tone_announcement(session, blobs, settings, other_world.org, "Theirs", seconds=0.5)
    saved = SavedReportFilter(org_id=world.org.id, owner_id=world.users["admin"].id, name="acme",
                              filters={}, updated_at=datetime.now(UTC))  # fmt: skip
    session.add(saved)
    session.commit()
    values = {
        "org_id": str(world.org.id),
        "team_id": str(world.teams["sales"].id),
        "user_id": str(world.users["alice"].id),
        "device_id": str(world.devices["alice"].id),
        "token_id": str(a_token),
        "call_id": str(recording.call_id),
        "sequence": "1",
        "recording_id": str(recording.id),
        "announcement_id": str(announcement.id),
        "filter_id": str(saved.id),
        "aor": world.devices["alice"].aor,
        "user_extension": "9001",
        "device_extension": "9002",
        "own_team_id": str(other_world.teams["sales"].id),
        "own_user_id": str(other_world.users["alice"].id),
        "own_device_id": str(other_world.devices["alice"].id),
    }
    assert set(values) >= PATH_PARAMETERS
    return Tenants(world, other_world, b_admin, values, blobs, queue)


def snapshot(connection: Connection, org_id: uuid.UUID) -> Rows:
    """Every row belonging to one org: rows with its org_id, rows pointing at those (team links,
    sessions), and rows of tables tied to no org at all (so a stray write there shows too)."""
    rows: Rows = {}
    for table in Base.metadata.sorted_tables:
        condition = _belongs_to(table, org_id, rows)
        query = select(table) if condition is None else select(table).where(condition)
        found = [dict(r._mapping) for r in connection.execute(query)]
        rows[table.name] = sorted(found, key=repr)
    return rows


def _belongs_to(table: Table, org_id: uuid.UUID, done: Rows) -> Any:
    if table.name == "orgs":
        return table.c.id == org_id
    if "org_id" in table.c:
        return table.c.org_id == org_id
    links = [
        fk.parent.in_([row[fk.column.name] for row in done[fk.column.table.name]])
        for fk in table.foreign_keys
        if fk.column.table.name in done
    ]
    return or_(*links) if links else None


def identifiers(rows: Rows) -> set[str]:
    """What would betray an org's data in an answer: its ids, emails and AORs."""
    found: set[str] = set()
    for table_rows in rows.values():
        for row in table_rows:
            for column, value in row.items():
                if isinstance(value, uuid.UUID):
                    found.add(str(value))
                elif column in {"email", "aor"} and isinstance(value, str):
                    found.add(value)
    return found


def fill(template: Any, values: Mapping[str, str]) -> Any:
    if isinstance(template, str) and template.startswith("<") and template.endswith(">"):
        return values[template[1:-1]]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def sent_values(path: str, body: Any) -> set[str]:
    sent = set(path.split("/"))
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            sent.add(item)
    return sent


def parameters(path: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", path))


def blob_keys(blobs: MemoryBlobStore) -> set[str]:
    return set(blobs.iter_keys())


def send(
    client: TestClient,
    method: str,
    url: str,
    payload: Any,
    audio: bool,
    headers: Headers,
    mp3: bool = False,
) -> Response:
    if mp3:
        files = {"file": ("isolation.mp3", tone_mp3(0.5), "audio/mpeg")}
        return client.request(
            method, API_PREFIX + url, data={"name": "isolation"}, files=files, headers=headers
        )
    if audio:
        headers = {**headers, "content-type": "audio/wav"}
        return client.request(method, API_PREFIX + url, content=wav(), headers=headers)
    return client.request(method, API_PREFIX + url, json=payload, headers=headers)


def assert_isolated(
    client: TestClient,
    connection: Connection,
    t: Tenants,
    method: str,
    path: str,
    body: Any,
    statuses: Iterable[int],
    *,
    headers: Headers | None = None,
    names_own: bool = False,
    audio: bool = False,
    mp3: bool = False,
    values: Mapping[str, str] | None = None,
) -> Response:
    """Send one request as org B and check org A is untouched and unnamed in the answer."""
    values = t.values if values is None else values
    url = path.format_map(values)
    payload = fill(body, values)
    before_a = snapshot(connection, t.a.org.id)
    before_b = snapshot(connection, t.b.org.id)
    blobs_before = blob_keys(t.blobs)
    jobs_before = list(t.queue.sent)

    resp = send(client, method, url, payload, audio, t.b_admin if headers is None else headers, mp3)

    assert resp.status_code in set(statuses), resp.text
    assert snapshot(connection, t.a.org.id) == before_a, "org A's rows changed"
    org_a = str(t.a.org.id)
    assert {k for k in blob_keys(t.blobs) if org_a in k} == {k for k in blobs_before if org_a in k}
    if resp.status_code >= 400:
        assert snapshot(connection, t.b.org.id) == before_b, "a refused request changed org B"
        assert blob_keys(t.blobs) == blobs_before, "a refused request stored a blob"
        assert t.queue.sent == jobs_before, "a refused request queued a job"
        assert set(resp.json()) == {"error"}
        assert set(resp.json()["error"]) == {"code", "message", "details"}
    sent = sent_values(url, payload)
    said = resp.text + repr(t.queue.sent[len(jobs_before) :])
    leaked = {i for i in identifiers(before_a) if i in said and not any(i in s for s in sent)}
    assert not leaked, f"the answer or a queued job names org A's {sorted(leaked)}: {said}"
    if names_own:
        assert any(i in resp.text for i in identifiers(snapshot(connection, t.b.org.id))), (
            f"the answer names nothing of org B's, so the check above proves nothing: {resp.text}"
        )
    return resp


def openapi_routes(client: TestClient) -> set[str]:
    doc = client.get(f"{API_PREFIX}/openapi.json").json()
    return {
        f"{method.upper()} {path.removeprefix(API_PREFIX)}"
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _split(route: str) -> tuple[str, str]:
    method, path = route.split(" ", 1)
    return method, path


# --- coverage: every route has an isolation case --------------------------------------------


def test_every_route_is_classified(client: TestClient) -> None:
    routes = openapi_routes(client)
    missing = sorted(routes - ROUTES.keys())
    assert not missing, (
        f"routes without a tenant-isolation case: {missing}; add them to BY_ID, LISTS, OWN_ORG "
        "or BY_BODY in tests/test_tenant_isolation.py"
    )
    stale = sorted(ROUTES.keys() - routes)
    assert not stale, f"isolation cases for routes that no longer exist: {stale}"


def test_every_route_naming_an_object_is_called_with_org_a_ids(client: TestClient) -> None:
    for route in openapi_routes(client):
        names = parameters(_split(route)[1])
        assert names <= PATH_PARAMETERS, f"{route}: no org A object for {names - PATH_PARAMETERS}"
        assert bool(names) == (route in BY_ID), f"{route}: path ids go with BY_ID, only there"


def test_no_api_route_hides_from_the_openapi_document(client: TestClient) -> None:
    """A route left out of the schema would escape the coverage test above."""
    tooling = {
        f"{API_PREFIX}/openapi.json",
        f"{API_PREFIX}/docs",
        f"{API_PREFIX}/docs/oauth2-redirect",
    }
    documented = openapi_routes(client)
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if not path.startswith(API_PREFIX) or path in tooling:
            continue
        assert isinstance(route, APIRoute), f"{path} is not an API route"
        for method in (route.methods or set()) - {"HEAD"}:
            assert f"{method} {path.removeprefix(API_PREFIX)}" in documented, (method, path)


# --- the isolation cases ---------------------------------------------------------------------


@pytest.mark.parametrize("route", list(ROUTES), ids=list(ROUTES))
def test_route_keeps_org_a_out_of_reach(
    client: TestClient, connection: Connection, tenants: Tenants, route: str
) -> None:
    method, path = _split(route)
    case = ROUTES[route]
    assert_isolated(
        client, connection, tenants, method, path, case.body, case.statuses,
        names_own=case.names_own, audio=case.audio, mp3=case.mp3,
    )  # fmt: skip


@pytest.mark.parametrize("route", list(BY_ID), ids=list(BY_ID))
@pytest.mark.parametrize("role", ["admin", "supervisor", "alice"])
def test_org_a_id_answers_like_a_missing_id(
    client: TestClient,
    connection: Connection,
    tenants: Tenants,
    as_user: AsUser,
    role: str,
    route: str,
) -> None:
    """Every role of org B is refused, with the same status and code as for an id that exists
    nowhere: the answer never says whether org A's object exists. (Lesser roles may get a 403
    where the route checks the role first; that too is the same for any id.)"""
    method, path = _split(route)
    case = ROUTES[route]
    headers = tenants.b_admin if role == "admin" else as_user(role, tenants.b)
    statuses = case.statuses if role == "admin" else (403, 404)
    known = assert_isolated(
        client, connection, tenants, method, path, case.body, statuses,
        headers=headers, audio=case.audio,
    )  # fmt: skip
    missing = {**tenants.values, **{p: str(uuid.uuid4()) for p in parameters(path) & ID_PARAMETERS}}
    unknown = send(client, method, path.format_map(missing), fill(case.body, missing),
                   case.audio, headers)  # fmt: skip
    assert (known.status_code, known.json()["error"]["code"]) == (
        unknown.status_code,
        unknown.json()["error"]["code"],
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "statuses"),
    [v[1:] for v in BODY_VARIANTS],
    ids=[v[0] for v in BODY_VARIANTS],
)
def test_org_a_ids_in_the_body_are_not_found(
    client: TestClient,
    connection: Connection,
    tenants: Tenants,
    method: str,
    path: str,
    body: Any,
    statuses: tuple[int, ...],
) -> None:
    resp = assert_isolated(client, connection, tenants, method, path, body, statuses)
    assert resp.json()["error"]["code"] == "not_found"


def test_a_value_both_orgs_use_resolves_in_the_callers_org(
    client: TestClient, connection: Connection, tenants: Tenants
) -> None:
    """Both orgs have extension 201 (alice): org B's decision is about org B's alice."""
    resp = assert_isolated(
        client, connection, tenants, "POST", "/policy/decision",
        {"direction": "incoming", "extension": "201"}, (200,), names_own=True,
    )  # fmt: skip
    refs = {step["ref"] for step in resp.json()["trace"]} - {None}
    assert str(tenants.b.users["alice"].id) in refs


def test_an_external_id_both_orgs_use_makes_a_new_call_in_the_callers_org(
    client: TestClient, connection: Connection, tenants: Tenants
) -> None:
    """Ingest is idempotent on external_id, but only within an org: org A's call must not come
    back as "already known" (200) to org B."""
    body = {**_CALL, "external_id": "acme-call", "segments": [_SEGMENT]}
    resp = assert_isolated(
        client, connection, tenants, "POST", "/calls", body, (201,), names_own=True
    )
    assert resp.json()["id"] != tenants.values["call_id"]


def test_org_b_cannot_revoke_org_a_token(
    client: TestClient, connection: Connection, tenants: Tenants, as_user: AsUser
) -> None:
    a_headers = as_user("alice")
    secret = a_headers["Authorization"].removeprefix("Bearer ")
    token_id = str(
        connection.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_secret(secret)))
    )
    values = {**tenants.values, "token_id": token_id}
    resp = assert_isolated(
        client, connection, tenants, "DELETE", "/tokens/{token_id}", None, NOT_FOUND,
        values=values,
    )  # fmt: skip
    assert resp.json()["error"]["code"] == "not_found"

    me = client.get(f"{API_PREFIX}/me", headers=a_headers)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(tenants.a.users["alice"].id)
    tokens = client.get(f"{API_PREFIX}/tokens", headers=a_headers).json()
    assert [t["revoked_at"] for t in tokens if t["id"] == token_id] == [None]
