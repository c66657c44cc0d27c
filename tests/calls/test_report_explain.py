"""The report's main queries use the indexes designed for them (migration 0005), on a table
large enough, and ANALYZEd, for the planner to choose with realistic statistics: no full scan
of ``calls`` for the first page, a deep keyset page, the member-groups scope, the unified
history or a number sort."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, insert, text

from callrec.access.rules import Actor, ManagementScope, PlaybackScope, Role
from callrec.calls.report import ReportRequest, report_select
from callrec.calls.report_cursor import Cursor
from callrec.calls.report_schemas import ReportFilters, SortKey, SortOrder
from callrec.models import Call, Org, Participant, Team, User, call_teams
from tests.dbs import BACKEND

CALLS, TEAMS, USERS = 30_000, 40, 400
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def loaded(connection: Connection) -> dict[str, Any]:
    """A year of calls for one org (and a few for another), in the test's transaction."""
    rng = random.Random(5)
    org, other = uuid.uuid4(), uuid.uuid4()
    teams = [uuid.uuid4() for _ in range(TEAMS)]
    users = [(uuid.uuid4(), rng.choice(teams)) for _ in range(USERS)]
    connection.execute(
        insert(Org), [{"id": o, "name": s, "slug": s} for o, s in ((org, "big"), (other, "small"))]
    )
    connection.execute(
        insert(Team), [{"id": t, "org_id": org, "name": f"t{i}"} for i, t in enumerate(teams)]
    )
    connection.execute(
        insert(User),
        [
            {
                "id": u,
                "org_id": org,
                "email": f"u{i}@x.example",
                "display_name": f"U{i}",
                "primary_team_id": t,
            }
            for i, (u, t) in enumerate(users)
        ],
    )
    calls, parts, tags = [], [], []
    for i in range(CALLS):
        start = NOW - timedelta(seconds=rng.uniform(0, 365 * 86400))
        user, team = rng.choice(users)
        call_id = uuid.uuid4()
        calls.append(
            {
                "id": call_id,
                "org_id": org if i % 50 else other,
                "external_id": f"c{i}",
                "direction": rng.choice(["inbound", "outbound", "internal"]),
                "from_number": f"+44{rng.randrange(10**9)}",
                "to_number": str(rng.randrange(1000)),
                "started_at": start,
                "ended_at": start + timedelta(seconds=rng.uniform(1, 900)),
                "created_at": start,
            }
        )
        parts.append(
            {
                "id": uuid.uuid4(),
                "call_id": call_id,
                "org_id": org,
                "user_id": user,
                "joined_at": start,
            }
        )
        tags.append({"call_id": call_id, "team_id": team})
    connection.execute(insert(Call), calls)
    connection.execute(insert(Participant), parts)
    connection.execute(insert(call_teams), tags)
    for table in ("calls", "participants", "call_teams", "recordings", "users"):
        connection.execute(text(f"ANALYZE {table}"))
    member = Actor(
        user_id=users[0][0],
        org_id=org,
        role=Role.USER,
        management_scope=ManagementScope.ME,
        playback_scope=PlaybackScope.MEMBER_GROUPS,
        primary_team_id=users[0][1],
        member_team_ids=frozenset(teams[:2]),
    )
    return {"org": org, "member": member, "user": users[3][0]}


@contextmanager
def _explaining(connection: Connection) -> Iterator[None]:
    prefix = "EXPLAIN (FORMAT JSON) " if BACKEND == "postgresql" else "EXPLAIN QUERY PLAN "

    def explain(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> Any:
        return prefix + statement, params

    event.listen(connection, "before_cursor_execute", explain, retval=True)
    try:
        yield
    finally:
        event.remove(connection, "before_cursor_execute", explain)


def _plan(
    connection: Connection, request: ReportRequest, cursor: Cursor | None
) -> list[tuple[str, str, str]]:
    """(node, relation, index) for every step of the plan."""
    with _explaining(connection):
        result = connection.execute(report_select(request, cursor, 50))
        rows = result.cursor.fetchall()  # the plan, not the columns the select names
    if BACKEND == "postgresql":
        steps: list[tuple[str, str, str]] = []

        def walk(node: dict[str, Any]) -> None:
            steps.append(
                (node["Node Type"], node.get("Relation Name", ""), node.get("Index Name", ""))
            )
            for child in node.get("Plans", []):
                walk(child)

        walk(rows[0][0][0]["Plan"])
        return steps
    # SQLite: "SCAN calls" is a full scan; "SEARCH calls USING INDEX x (...)" is not.
    out = []
    for row in rows:
        detail = str(row[-1])
        words = detail.split()
        index = words[words.index("INDEX") + 1] if "INDEX" in words else ""
        out.append((words[0], words[1] if len(words) > 1 else "", index))
    return out


def _assert_indexed(steps: list[tuple[str, str, str]], index: str) -> None:
    scans = [s for s in steps if s[1] == "calls" and s[0] in ("Seq Scan", "SCAN")]
    assert not scans, f"full scan of calls: {steps}"
    assert any(s[2] == index for s in steps), f"{index} not used: {steps}"


def _typical(actor: Actor, **extra: Any) -> ReportRequest:
    filters = ReportFilters(
        tz="Europe/London",
        date_from=(NOW - timedelta(days=29)).date(),
        direction=["inbound"],
        **extra,
    )
    return ReportRequest(actor, filters, NOW)


def test_main_report_queries_use_their_indexes(
    connection: Connection, loaded: dict[str, Any]
) -> None:
    """One load, every plan (loading and ANALYZE are the slow part)."""
    member = loaded["member"]
    # The first page with typical filters, for a member-groups viewer.
    _assert_indexed(_plan(connection, _typical(member), None), "ix_calls_report_started")
    # A deep keyset page.
    deep = Cursor(SortKey.STARTED_AT, SortOrder.DESC, NOW - timedelta(days=200), uuid.uuid4())
    request = ReportRequest(member, ReportFilters(direction=["inbound"]), NOW)
    _assert_indexed(_plan(connection, request, deep), "ix_calls_report_started")
    # The whole org, newest first, and the number sorts.
    admin = Actor(
        user_id=uuid.uuid4(),
        org_id=loaded["org"],
        role=Role.ORG_ADMIN,
        management_scope=ManagementScope.EVERYONE,
        playback_scope=PlaybackScope.ALL,
    )
    _assert_indexed(
        _plan(connection, ReportRequest(admin, ReportFilters(), NOW), None),
        "ix_calls_report_started",
    )
    by_from = ReportRequest(
        admin, ReportFilters(sort=SortKey.FROM_NUMBER, order=SortOrder.ASC), NOW
    )
    _assert_indexed(_plan(connection, by_from, None), "ix_calls_report_from")
    by_to = ReportRequest(admin, ReportFilters(sort=SortKey.TO_NUMBER), NOW)
    _assert_indexed(_plan(connection, by_to, None), "ix_calls_report_to")
    # The unified history of one user: no full scan of calls either.
    actor = Actor(
        user_id=loaded["user"],
        org_id=loaded["org"],
        role=Role.USER,
        management_scope=ManagementScope.ME,
        playback_scope=PlaybackScope.OWN,
    )
    steps = _plan(connection, ReportRequest(actor, ReportFilters(), NOW, own_only=True), None)
    assert not [s for s in steps if s[1] == "calls" and s[0] in ("Seq Scan", "SCAN")], steps
