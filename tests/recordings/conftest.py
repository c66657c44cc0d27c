"""Fixtures for the recording pipeline: a call with segments in the factory world, captures
and audio files made on the spot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callrec.media.synth import write_call
from tests.directory.factories import World

STARTED = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

MakeCall = Callable[..., dict[str, Any]]


@pytest.fixture
def admin(as_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return as_user("admin")


@pytest.fixture
def make_call(client: TestClient, world: World, admin: dict[str, str]) -> MakeCall:
    """POST a call answered by alice (and, with ``transfer_to``, transferred to bob)."""

    def create(
        external_id: str = "pbx-1", seconds: float = 60, transfer_to: str | None = None
    ) -> dict[str, Any]:
        end = STARTED + timedelta(seconds=seconds)
        segments: list[dict[str, Any]] = [
            {"sequence": 1, "device_id": str(world.devices["alice"].id),
             "started_at": STARTED.isoformat(), "ended_at": end.isoformat()}
        ]  # fmt: skip
        if transfer_to is not None:
            segments.append(
                {"sequence": 2, "user_id": str(world.users[transfer_to].id),
                 "reason": "transferred", "started_at": end.isoformat(),
                 "ended_at": (end + timedelta(seconds=seconds)).isoformat()}
            )  # fmt: skip
        body = {
            "external_id": external_id,
            "direction": "inbound",
            "from_number": "+441632960001",
            "to_number": "201",
            "started_at": STARTED.isoformat(),
            "ended_at": end.isoformat(),
            "segments": segments,
        }
        response = client.post("/api/v1/calls", json=body, headers=admin)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    return create


@pytest.fixture
def capture(tmp_path: Path) -> Callable[..., bytes]:
    made = iter(range(1_000_000))

    def make(seconds: float = 60, **kwargs: Any) -> bytes:
        path = tmp_path / f"capture-{next(made)}.crec"
        write_call(path, seconds, **kwargs)
        return path.read_bytes()

    return make
