"""CSV export: streamed, keyset-paged underneath, every matching row, local times, safe cells."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callrec.calls import report_service
from callrec.calls.report_csv import HEADER, safe_cell
from callrec.models import CallDirection, RecordingState
from tests.calls.factories import NOW, make_call
from tests.directory.factories import World


@pytest.fixture
def exported(session: Session, world: World) -> World:
    for i in range(7):
        make_call(
            session,
            world,
            f"c{i}",
            users=("alice",),
            start=NOW - timedelta(hours=i + 1),
            direction=CallDirection.INBOUND if i % 2 else CallDirection.OUTBOUND,
            from_number=f"+4416329600{i:02d}",
            recording=RecordingState.READY if i == 0 else None,
        )
    make_call(
        session,
        world,
        "evil",
        users=("bob",),
        start=NOW - timedelta(hours=9),
        from_number='=HYPERLINK("http://x.example")',
        to_number="@SUM(A1)",
    )
    session.commit()
    return world


def _csv(client: TestClient, headers: dict[str, str], query: str = "") -> list[list[str]]:
    response = client.get(f"/api/v1/reports/calls/export.csv?{query}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="calls-')
    return list(csv.reader(io.StringIO(response.text)))


def test_export_has_every_matching_row_in_report_order(
    client: TestClient, exported: World, as_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_service, "EXPORT_PAGE_ROWS", 3)  # several keyset pages
    admin = as_user("admin")
    rows = _csv(client, admin, "tz=%2B02:00")
    assert rows[0] == list(HEADER)
    page = client.get("/api/v1/reports/calls?limit=500", headers=admin).json()["items"]
    assert [r[0] for r in rows[1:]] == [r["id"] for r in page]
    first = dict(zip(HEADER, rows[1], strict=True))
    assert first["started_at"] == "2026-01-01T01:00:00+02:00"  # 23:00 UTC, in the client's zone
    assert first["duration_s"] == "65" and first["disposition"] == "answered"
    assert first["users"] == "Alice" and first["playable_recordings"] == "1"
    assert first["from"] == "+441632960000"  # a phone number is left as it is
    inbound = _csv(client, admin, "direction=inbound")
    assert len(inbound) == 1 + 4  # c1, c3, c5 and evil


def test_cells_a_spreadsheet_would_run_are_neutralised(
    client: TestClient, exported: World, as_user: Any
) -> None:
    rows = _csv(client, as_user("admin"), "user_id=" + str(exported.users["bob"].id))
    evil = dict(zip(HEADER, rows[1], strict=True))
    assert evil["from"] == '\'=HYPERLINK("http://x.example")'
    assert evil["to"] == "'@SUM(A1)"
    assert safe_cell("+44 20 7946 0000") == "+44 20 7946 0000"
    assert safe_cell("-1+2") == "'-1+2"


def test_export_follows_the_scope_and_refuses_bad_filters_before_streaming(
    client: TestClient, exported: World, as_user: Any
) -> None:
    bob = _csv(client, as_user("bob"))
    assert len(bob) == 2  # only his own call
    mine = client.get("/api/v1/me/calls/export.csv", headers=as_user("alice"))
    assert len(list(csv.reader(io.StringIO(mine.text)))) == 1 + 7
    bad = client.get("/api/v1/reports/calls/export.csv?tz=Nowhere", headers=as_user("admin"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_payload"
