"""Sorting and keyset paging: every sort pages to the same order as one big page, with no
row repeated or lost when calls are added between pages."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callrec.models import CallDirection
from tests.calls.factories import NOW, make_call
from tests.directory.factories import World

SORTS = [
    (s, o) for s in ("started_at", "duration", "from_number", "to_number") for o in ("asc", "desc")
]


@pytest.fixture
def many(session: Session, world: World) -> World:
    """23 calls with colliding start times, durations and numbers (ties need the id)."""
    rng = random.Random(6)
    for i in range(23):
        make_call(
            session,
            world,
            f"c{i:02d}",
            users=(rng.choice(["alice", "bob"]),),
            start=NOW - timedelta(minutes=10 * rng.randrange(6)),
            talk_s=rng.choice([None, 10.0, 60.0]),
            ended=i != 7,
            from_number=rng.choice(["+4420", "+4421", "201"]),
            to_number=rng.choice(["202", "+1415"]),
            direction=rng.choice(list(CallDirection)),
        )
    session.commit()
    return world


def _page(client: TestClient, headers: dict[str, str], query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/reports/calls?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _walk(client: TestClient, headers: dict[str, str], query: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        extra = f"&cursor={cursor}" if cursor else ""
        page = _page(client, headers, f"{query}&limit={limit}{extra}")
        seen += [r["external_id"] for r in page["items"]]
        assert len(page["items"]) <= limit
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def _key(row: dict[str, Any], sort: str) -> Any:
    if sort == "duration":
        return -1.0 if row["duration_s"] is None else row["duration_s"]
    return row[sort]


@pytest.mark.parametrize(("sort", "order"), SORTS)
def test_every_sort_orders_rows_and_pages_the_same(
    client: TestClient, many: World, as_user: Any, sort: str, order: str
) -> None:
    admin = as_user("admin")
    query = f"sort={sort}&order={order}"
    whole = _page(client, admin, f"{query}&limit=500")
    rows = whole["items"]
    assert len(rows) == 23 and whole["next_cursor"] is None
    keys = [(_key(r, sort), r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=order == "desc")  # the id breaks ties
    assert _walk(client, admin, query, 4) == [r["external_id"] for r in rows]


def test_paging_is_stable_when_calls_arrive_between_pages(
    client: TestClient, session: Session, many: World, as_user: Any
) -> None:
    admin = as_user("admin")
    before = [r["external_id"] for r in _page(client, admin, "limit=500")["items"]]
    first = _page(client, admin, "limit=5")
    cursor_row = first["items"][-1]
    # New calls: newer than the page (already passed), at the very same start time as the
    # cursor row (order decided by id), and older (still ahead).
    make_call(session, many, "newer", start=NOW + timedelta(minutes=5))
    make_call(session, many, "same-time", start=NOW - timedelta(minutes=10 * 5))
    make_call(session, many, "older", start=NOW - timedelta(hours=5))
    session.commit()
    seen = [r["external_id"] for r in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = _page(client, admin, f"limit=5&cursor={cursor}")
        seen += [r["external_id"] for r in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert set(before) <= set(seen), "a row was lost"
    assert "newer" not in seen  # it sorts before the cursor: on a page already read
    assert "older" in seen and seen[-1] == "older"
    assert cursor_row["external_id"] in seen


def test_a_cursor_only_fits_its_own_sort(client: TestClient, many: World, as_user: Any) -> None:
    admin = as_user("admin")
    cursor = _page(client, admin, "limit=5&sort=duration")["next_cursor"]
    response = client.get(
        f"/api/v1/reports/calls?limit=5&sort=from_number&cursor={cursor}", headers=admin
    )
    assert response.status_code == 400
    assert "sort" in response.json()["error"]["message"]


def test_unified_history_pages_too(client: TestClient, many: World, as_user: Any) -> None:
    alice = as_user("alice")
    whole = client.get("/api/v1/me/calls?limit=500", headers=alice).json()["items"]
    assert whole and all(any(u["name"] == "Alice" for u in r["users"]) for r in whole)
    seen: list[str] = []
    cursor = None
    while True:
        extra = f"&cursor={cursor}" if cursor else ""
        page = client.get(f"/api/v1/me/calls?limit=3{extra}", headers=alice).json()
        seen += [r["external_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [r["external_id"] for r in whole]
