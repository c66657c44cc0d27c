"""Consent evidence on a recording, as the proxy writes it, shown by GET /recordings/{id}."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callrec.models import Recording, RecordingState
from callrec.recordings.schemas import RecordingRead
from tests.directory.factories import World

API = "/api/v1"
Headers = dict[str, str]
AsUser = Callable[..., Headers]
AT = "2026-11-22T09:00:00Z"

EVIDENCE = [
    pytest.param(
        {
            "announcement": {"id": str(uuid.uuid4()), "name": "Welcome", "played": "complete",
                             "played_ms": 4200},
            "ask": None,
            "beep_interval_s": 15,
        },
        id="announcement_and_beep",
    ),
    pytest.param(
        {
            "announcement": None,
            "ask": {"answer": "record", "digit": "1", "via": "rfc4733",
                    "answered_at": "2026-11-22T09:00:03.250000Z"},
            "beep_interval_s": None,
        },
        id="ask_answered",
    ),
    pytest.param(
        {
            "announcement": {"id": str(uuid.uuid4()), "name": "Welcome", "played": "cut",
                             "played_ms": 800},
            "ask": {"answer": "no_answer", "digit": None, "via": None,
                    "answered_at": "2026-11-22T09:00:10Z"},
            "beep_interval_s": None,
        },
        id="cut_and_no_answer",
    ),
    pytest.param(None, id="not_through_the_proxy"),
]  # fmt: skip


def recording_with(
    client: TestClient, session: Session, world: World, admin: Headers, evidence: Any
) -> Recording:
    call = client.post(
        f"{API}/calls",
        headers=admin,
        json={
            "external_id": f"proxy-{uuid.uuid4()}",
            "direction": "inbound",
            "started_at": AT,
            "segments": [
                {"sequence": 1, "device_id": str(world.devices["alice"].id), "started_at": AT}
            ],
        },
    )
    assert call.status_code == 201, call.text
    recording = Recording(
        org_id=world.org.id,
        call_id=uuid.UUID(call.json()["id"]),
        segment_id=uuid.UUID(call.json()["segments"][0]["id"]),
        state=RecordingState.CAPTURED,
        quality_flags=[],
        consent_evidence=evidence,
    )
    session.add(recording)
    session.commit()
    return recording


@pytest.mark.parametrize("evidence", EVIDENCE)
def test_the_recording_shows_its_consent_evidence(
    client: TestClient, session: Session, world: World, as_user: AsUser, evidence: Any
) -> None:
    admin = as_user("admin")
    recording = recording_with(client, session, world, admin, evidence)

    resp = client.get(f"{API}/recordings/{recording.id}", headers=admin)

    assert resp.status_code == 200, resp.text
    shown = resp.json()["consent_evidence"]
    if evidence is None:
        assert shown is None
        return
    ask = evidence["ask"]
    if ask is not None:  # times come back in one canonical ISO 8601 form
        ask = {**ask, "answered_at": shown["ask"]["answered_at"]}
        assert (
            shown["ask"]["answered_at"].replace("Z", "+00:00")[:19]
            == evidence["ask"]["answered_at"][:19]
        )
    assert shown == {**evidence, "ask": ask}


def test_the_evidence_has_a_documented_schema() -> None:
    schema = RecordingRead.model_json_schema()
    defs = schema["$defs"]

    assert set(defs["ConsentEvidence"]["properties"]) == {"announcement", "ask", "beep_interval_s"}
    assert set(defs["AskEvidence"]["properties"]["answer"]["enum"]) == {
        "record",
        "do_not_record",
        "no_answer",
    }
    assert set(defs["AnnouncementEvidence"]["properties"]["played"]["enum"]) == {
        "complete",
        "cut",
    }
