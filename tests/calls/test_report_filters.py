"""Every report filter, the quick filters across time-zone boundaries, and bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callrec.access.rules import PlaybackScope
from callrec.models import CallDirection, RecordingState
from tests.calls.factories import NOW, add_user, make_call
from tests.directory.factories import World

IN, OUT, INTERNAL = CallDirection.INBOUND, CallDirection.OUTBOUND, CallDirection.INTERNAL
H = timedelta(hours=1)
EVERYTHING = {"in-ans", "out-ans", "int-ans", "missed", "abandoned", "ringing", "old", "tagged"}


@pytest.fixture
def calls(session: Session, world: World) -> World:
    """Eight calls around FakeClock's now (2026-01-01 00:00 UTC); durations = ring + talk."""
    mk = make_call
    mk(
        session,
        world,
        "in-ans",
        direction=IN,
        users=("alice",),
        start=NOW - 2 * H,
        talk_s=120,
        from_number="+441632960001",
        to_number="201",
        recording=RecordingState.READY,
        flags=("one_sided",),
    )
    mk(
        session,
        world,
        "out-ans",
        direction=OUT,
        users=("bob",),
        start=NOW - 3 * H,
        talk_s=30,
        from_number="202",
        to_number="+14155550100",
        recording=RecordingState.FAILED,
    )
    mk(
        session,
        world,
        "int-ans",
        direction=INTERNAL,
        users=("alice", "bob"),
        start=NOW - 4 * H,
        talk_s=600,
        from_number="201",
        to_number="202",
    )
    mk(
        session,
        world,
        "missed",
        direction=IN,
        users=("bob",),
        start=NOW - 5 * H,
        ring_s=20,
        talk_s=None,
        from_number="+441632960002",
        to_number="202",
    )
    mk(
        session,
        world,
        "abandoned",
        direction=IN,
        users=("alice",),
        start=NOW - 6 * H,
        ring_s=3,
        talk_s=None,
        from_number="+33140000000",
        to_number="201",
    )
    mk(
        session,
        world,
        "ringing",
        direction=IN,
        users=("alice",),
        start=NOW - timedelta(minutes=10),
        talk_s=None,
        ended=False,
        from_number="+33140000001",
        to_number="201",
    )
    mk(
        session,
        world,
        "old",
        direction=IN,
        users=("alice",),
        start=NOW - 72 * H,
        talk_s=45,
        from_number="+441632960003",
        to_number="201",
        recording=RecordingState.PROCESSING,
        flags=("mostly_silent",),
    )
    mk(
        session,
        world,
        "tagged",
        direction=OUT,
        users=("carol",),
        start=NOW - 7 * H,
        talk_s=10,
        teams=("support",),
        from_number="203",
        to_number="+4930123456",
    )
    session.commit()
    return world


def _ids(client: TestClient, headers: dict[str, str], query: str) -> set[str]:
    response = client.get(f"/api/v1/reports/calls?{query}&limit=500", headers=headers)
    assert response.status_code == 200, response.text
    return {r["external_id"] for r in response.json()["items"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", EVERYTHING),
        ("direction=inbound", {"in-ans", "missed", "abandoned", "ringing", "old"}),
        ("direction=outbound&direction=internal", {"out-ans", "int-ans", "tagged"}),
        ("number=%2B4416", {"in-ans", "missed", "old"}),  # from or to
        ("number=%2B1415", {"out-ans"}),
        ("from_number=20", {"out-ans", "int-ans", "tagged"}),
        ("to_number=202", {"int-ans", "missed"}),
        ("number=%25", set()),  # a literal '%', not a wildcard
        ("number=_", set()),
        ("min_duration_s=100", {"in-ans", "int-ans"}),
        ("max_duration_s=10", {"abandoned"}),
        ("min_duration_s=15&max_duration_s=35", {"out-ans", "missed", "tagged"}),
        ("disposition=answered", {"in-ans", "out-ans", "int-ans", "old", "tagged"}),
        ("disposition=missed", {"missed"}),
        ("disposition=abandoned", {"abandoned"}),
        ("disposition=missed&disposition=abandoned", {"missed", "abandoned"}),
        ("has_recording=true", {"in-ans", "old"}),  # a failed one does not count
        ("has_recording=false", EVERYTHING - {"in-ans", "old"}),
        ("recording_status=failed", {"out-ans"}),
        ("recording_status=ready&recording_status=processing", {"in-ans", "old"}),
        ("quality_flag=one_sided", {"in-ans"}),
        ("quality_flag=one_sided&quality_flag=mostly_silent", {"in-ans", "old"}),
        ("quality_flag=zero_length", set()),
        ("date_from=2025-12-31", EVERYTHING - {"old"}),
        ("date_to=2025-12-30", {"old"}),
        ("date_from=2025-12-29&date_to=2025-12-29", {"old"}),
        (
            "started_after=2025-12-31T19:00:00Z&started_before=2025-12-31T22:00:00Z",
            {"missed", "int-ans", "out-ans"},
        ),
        # A naive datetime is a wall-clock time in tz: 21:00 at +02:00 is 19:00 UTC.
        (
            "tz=%2B02:00&started_after=2025-12-31T21:00:00",
            {"in-ans", "out-ans", "int-ans", "missed", "ringing"},
        ),
        ("direction=inbound&disposition=answered&has_recording=true", {"in-ans", "old"}),
    ],
)
def test_each_filter_selects_exactly_its_calls(
    client: TestClient, calls: World, as_user: Any, query: str, expected: set[str]
) -> None:
    assert _ids(client, as_user("admin"), query) == expected


def test_user_and_team_filters(client: TestClient, calls: World, as_user: Any) -> None:
    admin = as_user("admin")
    users, teams = calls.users, calls.teams
    assert _ids(client, admin, f"user_id={users['bob'].id}") == {"out-ans", "int-ans", "missed"}
    assert _ids(client, admin, f"user_id={users['bob'].id}&user_id={users['carol'].id}") == {
        "out-ans",
        "int-ans",
        "missed",
        "tagged",
    }
    # Tagged with a user's primary team, or explicitly at ingest.
    assert _ids(client, admin, f"team_id={teams['support'].id}") == {
        "out-ans",
        "int-ans",
        "missed",
        "tagged",
    }
    assert _ids(client, admin, f"team_id={teams['sales'].id}") == {
        "in-ans",
        "int-ans",
        "abandoned",
        "ringing",
        "old",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # now is 2026-01-01 00:00 UTC: nothing has happened "today" in UTC yet...
        ("quick=today&tz=UTC", set()),
        # ...but at +02:00 it is 02:00, and today began at 22:00 UTC (in-ans starts exactly then)
        ("quick=today&tz=%2B02:00", {"in-ans", "ringing"}),
        ("quick=today&tz=Europe/Athens", {"in-ans", "ringing"}),
        ("quick=yesterday&tz=UTC", EVERYTHING - {"old"}),
        ("quick=yesterday&tz=%2B02:00", {"out-ans", "int-ans", "missed", "abandoned", "tagged"}),
        # New York is still on 31 December (19:00): its today began at 05:00 UTC.
        ("quick=today&tz=America/New_York", EVERYTHING - {"old"}),
        ("quick=yesterday&tz=America/New_York", set()),
        ("quick=last_7_days", EVERYTHING),
        ("quick=last_7_days&tz=Pacific/Kiritimati", EVERYTHING),  # UTC+14
        ("quick=missed", {"missed"}),
        ("quick=recorded", {"in-ans", "old"}),
        ("quick=recorded&quick=yesterday", {"in-ans"}),
        ("quick=missed&tz=%2B02:00&quick=today", set()),
        ("quick=recorded&has_recording=false", set()),
    ],
)
def test_quick_filters_follow_the_clients_zone(
    client: TestClient, calls: World, as_user: Any, query: str, expected: set[str]
) -> None:
    assert _ids(client, as_user("admin"), query) == expected


def test_quick_today_moves_with_the_clock(
    client: TestClient, calls: World, as_user: Any, clock: Any
) -> None:
    admin = as_user("admin")
    clock.advance(23 * 3600)  # 2026-01-01 23:00 UTC: already 2 January at +02:00
    assert _ids(client, admin, "quick=today&tz=%2B02:00") == set()
    assert _ids(client, admin, "quick=yesterday&tz=%2B02:00") == {"in-ans", "ringing"}
    assert _ids(client, admin, "quick=yesterday&tz=UTC") == EVERYTHING - {"old"}


def test_rows_carry_duration_and_disposition(
    client: TestClient, calls: World, as_user: Any
) -> None:
    response = client.get("/api/v1/reports/calls", headers=as_user("admin"))
    rows = {r["external_id"]: r for r in response.json()["items"]}
    assert rows["in-ans"]["duration_s"] == 125.0
    assert rows["in-ans"]["disposition"] == "answered"
    assert rows["missed"]["disposition"] == "missed"
    assert rows["abandoned"]["disposition"] == "abandoned"
    assert rows["ringing"]["disposition"] is None and rows["ringing"]["duration_s"] is None


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("tz=Mars/Olympus", 422, "invalid_payload"),
        ("tz=%2B15:00", 422, "invalid_payload"),
        ("quick=today&quick=yesterday", 422, "invalid_payload"),
        ("quick=tomorrow", 422, "invalid_payload"),
        ("date_from=2026-01-02&date_to=2026-01-01", 422, "invalid_payload"),
        ("min_duration_s=10&max_duration_s=5", 422, "invalid_payload"),
        ("min_duration_s=-1", 422, "invalid_payload"),
        ("quality_flag=50%25", 422, "invalid_payload"),
        ("sort=price", 422, "invalid_payload"),
        (
            "started_after=2026-01-01T02:00:00&started_before=2026-01-01T01:00:00Z",
            422,
            "invalid_payload",
        ),
        ("started_after=yesterday", 422, "invalid_payload"),
        ("limit=0", 422, "invalid_payload"),
        ("limit=501", 422, "invalid_payload"),
        ("colour=blue", 422, "invalid_payload"),
        ("cursor=not-a-cursor", 400, "bad_request"),
        (f"saved_filter_id={NOW.year}", 422, "invalid_payload"),
    ],
)
def test_bad_input_is_a_clear_error(
    client: TestClient, calls: World, as_user: Any, query: str, status: int, code: str
) -> None:
    response = client.get(f"/api/v1/reports/calls?{query}", headers=as_user("admin"))
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_recording_filters_need_playback_permission(
    client: TestClient, session: Session, calls: World, as_user: Any
) -> None:
    add_user(session, calls, "nobody", PlaybackScope.NONE)
    session.commit()
    for query in (
        "has_recording=true",
        "quick=recorded",
        "recording_status=ready",
        "quality_flag=one_sided",
    ):
        response = client.get(f"/api/v1/reports/calls?{query}", headers=as_user("nobody"))
        assert response.status_code == 403, query
        assert "playback" in response.json()["error"]["message"]
    assert client.get("/api/v1/reports/calls", headers=as_user("nobody")).status_code == 200


def test_a_report_needs_credentials(client: TestClient, calls: World) -> None:
    assert client.get("/api/v1/reports/calls").status_code == 401
