"""Recording-policy benchmark (issue 2).

In process: decisions per second for an org of 10,000 users and 20,000 devices, each
decision building its context from in-memory settings (device → user → team → org) and running
the pure policy. Over HTTP: p50/p99 of POST /api/v1/policy/decision on loopback against a
real uvicorn server on SQLite, called sequentially with a keep-alive client.

Targets: >= 100,000 decisions/s in process; HTTP p99 <= 5 ms.
Usage: python bench/policy.py [--quick]. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx2 as httpx
from alembic import command
from sqlalchemy import insert

from callrec.access.rules import Role
from callrec.access.service import AuthService, build_actor
from callrec.cli import alembic_config
from callrec.kit.clock import SystemClock
from callrec.kit.db import make_engine, make_sessionmaker, session_scope
from callrec.kit.ids import new_id
from callrec.models import Device, Org, Team, User, team_members
from callrec.policy import (
    BeepMode,
    CallContext,
    Direction,
    LevelSettings,
    OutgoingMode,
    Toggle,
    decide,
)

SEED = 20261122
TOGGLES = [Toggle.INHERIT] * 6 + [Toggle.ON] * 2 + [Toggle.OFF] * 2


def _level(rng: random.Random) -> dict[str, object]:
    beep = rng.choice([BeepMode.INHERIT] * 8 + [BeepMode.ON, BeepMode.OFF])
    return {
        "rec_incoming": rng.choice(TOGGLES),
        "rec_outgoing": rng.choice(TOGGLES),
        "rec_outgoing_mode": rng.choice([OutgoingMode.INHERIT] * 8 + [OutgoingMode.ASK]),
        "rec_beep": beep,
        "rec_beep_interval_s": 15 if beep is BeepMode.ON else None,
    }


def populate(url: str, users: int, devices: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Bulk-load one org; returns (admin id, device ids)."""
    rng = random.Random(SEED)
    engine = make_engine(url)
    org_id = new_id()
    team_ids = [new_id() for _ in range(max(3, users // 200))]
    user_ids = [new_id() for _ in range(users)]
    device_ids = [new_id() for _ in range(devices)]
    with engine.begin() as conn:
        conn.execute(
            insert(Org),
            [{"id": org_id, "name": "Bench", "slug": "bench", "licences_purchased": users,
              "rec_incoming": Toggle.ON, "rec_outgoing": Toggle.OFF}],
        )  # fmt: skip
        conn.execute(
            insert(Team),
            [{"id": t, "org_id": org_id, "name": f"team-{i}", **_level(rng)}
             for i, t in enumerate(team_ids)],
        )  # fmt: skip
        user_rows = []
        for i, u in enumerate(user_ids):
            user_rows.append({
                "id": u, "org_id": org_id, "email": f"u{i}@bench.example.com",
                "display_name": f"User {i}", "extension": str(10000 + i),
                "role": Role.ORG_ADMIN if i == 0 else Role.USER,
                "management_scope": "everyone" if i == 0 else "me",
                "has_licence": rng.random() < 0.9, "primary_team_id": rng.choice(team_ids),
                **_level(rng),
            })  # fmt: skip
        conn.execute(insert(User), user_rows)
        conn.execute(
            insert(team_members),
            [{"team_id": r["primary_team_id"], "user_id": r["id"]} for r in user_rows],
        )
        conn.execute(
            insert(Device),
            [{"id": d, "org_id": org_id, "user_id": user_ids[i % users], "name": f"phone {i}",
              "sip_username": f"d{i}", "aor": f"sip:d{i}@bench.example.com", **_level(rng)}
             for i, d in enumerate(device_ids)],
        )  # fmt: skip
    engine.dispose()
    return user_ids[0], device_ids


def load_snapshot(url: str) -> tuple[LevelSettings, dict, dict, dict]:  # type: ignore[type-arg]
    """Every level's settings in memory, as a media node would cache them."""
    factory = make_sessionmaker(make_engine(url))
    with factory() as session:
        org = session.query(Org).one()
        teams = {t.id: t.level_settings(t.id) for t in session.query(Team)}
        users = {
            u.id: (u.level_settings(u.id), u.primary_team_id, u.has_licence)
            for u in session.query(User)
        }
        devices = {d.id: (d.level_settings(d.id), d.user_id) for d in session.query(Device)}
        return org.level_settings(org.id), teams, users, devices


def bench_in_process(url: str, device_ids: list[uuid.UUID], n: int) -> dict[str, float]:
    org, teams, users, devices = load_snapshot(url)
    rng = random.Random(SEED)
    sample = [(rng.choice(device_ids), rng.choice(list(Direction))) for _ in range(n)]
    recorded = 0
    started = time.perf_counter()
    for device_id, direction in sample:
        device, user_id = devices[device_id]
        user, team_id, licence = users[user_id]
        ctx = CallContext(direction, org, licence, user, device, teams.get(team_id))
        recorded += decide(ctx).record
    elapsed = time.perf_counter() - started
    return {"decisions_per_s": round(n / elapsed), "recorded_share": round(recorded / n, 3)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_http(url: str, admin_id: uuid.UUID, device_ids: list[uuid.UUID], n: int) -> dict:  # type: ignore[type-arg]
    factory = make_sessionmaker(make_engine(url))
    with session_scope(factory) as session:
        admin = session.get(User, admin_id)
        assert admin is not None
        secret = (
            AuthService(session, SystemClock())
            .issue_token(build_actor(session, admin), "bench")
            .secret
        )
    port = _free_port()
    env = {**os.environ, "CALLREC_DATABASE_URL": url, "CALLREC_LOG_JSON": "true"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "callrec.app:create_app", "--factory",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
            _wait_ready(client)
            rng = random.Random(SEED)
            body = lambda: {"direction": rng.choice(["incoming", "outgoing"]),  # noqa: E731
                            "device_id": str(rng.choice(device_ids))}  # fmt: skip
            for _ in range(min(300, n)):
                client.post("/api/v1/policy/decision", json=body()).raise_for_status()
            latencies = []
            for _ in range(n):
                payload = body()
                started = time.perf_counter()
                response = client.post("/api/v1/policy/decision", json=payload)
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
    finally:
        server.terminate()
        server.wait(10)
    latencies.sort()
    return {
        "http_requests": n,
        "http_p50_ms": round(statistics.median(latencies), 3),
        "http_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
    }


def _wait_ready(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small size for CI smoke runs")
    args = parser.parse_args()
    users, devices = (1_000, 2_000) if args.quick else (10_000, 20_000)
    decisions, requests = (50_000, 500) if args.quick else (500_000, 5_000)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        command.upgrade(alembic_config(url), "head")
        admin_id, device_ids = populate(url, users, devices)
        result: dict[str, object] = {"bench": "policy", "quick": args.quick, "users": users,
                                     "devices": devices, "backend": "sqlite"}  # fmt: skip
        result |= bench_in_process(url, device_ids, decisions)
        result |= bench_http(url, admin_id, device_ids, requests)
    result["target_decisions_per_s"] = 100_000
    result["target_http_p99_ms"] = 5.0
    result["meets_targets"] = (
        float(result["decisions_per_s"]) >= 100_000 and float(result["http_p99_ms"]) <= 5.0  # type: ignore[arg-type]
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
