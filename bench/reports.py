"""Call-list report benchmark (issue 6).

Bulk-loads a year of call history for one org — 1 M calls into SQLite (executemany in big
transactions) and 10 M into PostgreSQL (COPY) — with 2,000 users in 40 teams, inbound /
outbound / internal calls, transfers, answered / missed / abandoned, ~40 % recorded, then
measures p50/p95 of the report's first page (50 rows) and of a deep keyset page (pages 100-200)
through the real service (``CallReportService.page``: the statement, then the rows' users,
teams and recordings), with typical filters — the last 30 days in Europe/London, inbound
calls — for a user with the member-groups scope (primary team + two member teams).

Target: p95 <= 50 ms on both. Usage: python bench/reports.py [--quick]. The last line is one
JSON object. PostgreSQL: a throwaway database on CALLREC_BENCH_PG_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from callrec.access.rules import Actor, ManagementScope, PlaybackScope, Role
from callrec.access.service import build_actor
from callrec.calls.report_schemas import ReportQuery
from callrec.calls.report_service import CallReportService
from callrec.cli import alembic_config
from callrec.kit.clock import SystemClock
from callrec.kit.db import make_engine, make_sessionmaker
from callrec.models import Org, Team, User, team_members

SEED = 20261201
TEAMS, USERS, DAYS = 40, 2_000, 365
PG_URL = os.environ.get("CALLREC_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = ("calls", "segments", "participants", "call_teams", "recordings")
COLUMNS = {
    "calls": "id, org_id, external_id, direction, from_number, to_number, started_at, "
    "answered_at, ended_at, created_at",
    "segments": "id, call_id, org_id, sequence, user_id, reason, started_at, ended_at, created_at",
    "participants": "id, call_id, org_id, user_id, name, address, joined_at, left_at",
    "call_teams": "call_id, team_id",
    "recordings": "id, org_id, call_id, segment_id, state, attempts, quality_flags, events, "
    "sla_breached, format, duration_ms, created_at",
}
TYPICAL = {"tz": "Europe/London", "direction": ["inbound"]}


# --- the synthetic org ------------------------------------------------------------------------


@dataclass
class World:
    org_id: uuid.UUID
    team_ids: list[uuid.UUID]
    users: list[tuple[uuid.UUID, str, str, uuid.UUID]]  # id, name, extension, primary team
    viewer_id: uuid.UUID


def populate_directory(url: str, rng: random.Random) -> World:
    engine = make_engine(url)
    org_id = uuid.UUID(int=rng.getrandbits(128))
    team_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(TEAMS)]
    users = []
    for i in range(USERS):
        users.append((uuid.UUID(int=rng.getrandbits(128)), f"User {i}", str(1000 + i),
                      rng.choice(team_ids)))  # fmt: skip
    viewer = users[0]
    others = [t for t in team_ids if t != viewer[3]]
    viewer_members = rng.sample(others, 2)
    with engine.begin() as conn:
        conn.execute(insert(Org), [{"id": org_id, "name": "Bench", "slug": "bench"}])
        conn.execute(
            insert(Team),
            [{"id": t, "org_id": org_id, "name": f"team-{i}"} for i, t in enumerate(team_ids)],
        )
        conn.execute(
            insert(User),
            [{"id": u, "org_id": org_id, "email": f"u{i}@bench.example.com", "display_name": name,
              "extension": ext, "role": Role.USER, "management_scope": ManagementScope.ME,
              "playback_scope": PlaybackScope.MEMBER_GROUPS if i == 0 else PlaybackScope.OWN,
              "primary_team_id": team, "has_licence": True}
             for i, (u, name, ext, team) in enumerate(users)],
        )  # fmt: skip
        links = [{"team_id": team, "user_id": u} for u, _, _, team in users]
        links += [{"team_id": t, "user_id": viewer[0]} for t in viewer_members]
        conn.execute(insert(team_members), links)
    engine.dispose()
    return World(org_id, team_ids, users, viewer[0])


# --- call history rows, backend-neutral -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Formats:
    ts: Callable[[float], Any]
    false: object  # how the backend takes a boolean false


def _timestamp_formatter(tz_suffix: str) -> Callable[[float], str]:
    days: dict[int, str] = {}

    def fmt(t: float) -> str:
        micros = int(t * 1_000_000)
        secs, us = divmod(micros, 1_000_000)
        day, sod = divmod(secs, 86_400)
        prefix = days.get(day)
        if prefix is None:
            prefix = days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        h, rem = divmod(sod, 3600)
        m, s = divmod(rem, 60)
        return f"{prefix} {h:02d}:{m:02d}:{s:02d}.{us:06d}{tz_suffix}"

    return fmt


def call_rows(
    world: World, n: int, end: float, fmt: Formats, rng: random.Random
) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Batches of rows per table for ``n`` calls spread over the DAYS before ``end``.

    Ids are time-ordered like the app's UUIDv7 (the call's millisecond, then a counter), as
    32 hex digits, which both backends take for a UUID column."""
    org = world.org_id.hex
    u = [(uid.hex, name, ext, team.hex) for uid, name, ext, team in world.users]
    ts = fmt.ts
    t = end - DAYS * 86_400
    gap = DAYS * 86_400 / n
    flag_sets = ["[]"] * 92 + ['["one_sided"]'] * 5 + ['["mostly_silent"]'] * 3
    counter = 0
    batch: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
    for i in range(n):
        t += rng.expovariate(1 / gap)
        start = min(t, end - 3600)
        roll = rng.random()
        direction = "inbound" if roll < 0.45 else "outbound" if roll < 0.85 else "internal"
        first = rng.choice(u)
        people = [first]
        if direction == "internal" or roll < 0.05:  # the other end, or a transfer
            second = rng.choice(u)
            if second is not first:
                people.append(second)
        outside = f"+4416329{rng.randrange(10**5):05d}"
        if direction == "inbound":
            caller, callee = outside, first[2]
        elif direction == "outbound":
            caller, callee = first[2], outside
        else:
            caller, callee = first[2], people[-1][2]
        ring = rng.uniform(1, 30)
        answered = rng.random() < 0.8
        talk = min(rng.lognormvariate(4.5, 1.0), 4 * 3600) if answered else 0.0
        ended = start + ring + talk
        prefix = f"{int(start * 1000):012x}7"
        counter += 1
        cid = f"{prefix}{counter:019x}"
        s_ts, e_ts = ts(start), ts(ended)
        batch["calls"].append((cid, org, f"bench-{i}", direction, caller, callee, s_ts,
                               ts(start + ring) if answered else None, e_ts, s_ts))  # fmt: skip
        teams = set()
        for seq, (uid, name, ext, team) in enumerate(people, start=1):
            counter += 1
            seg = f"{prefix}{counter:019x}"
            if seq == 1:
                first_segment = seg
            reason = "answered" if seq == 1 else "transferred"
            batch["segments"].append((seg, cid, org, seq, uid, reason, s_ts, e_ts, s_ts))
            counter += 1
            batch["participants"].append((f"{prefix}{counter:019x}", cid, org, uid, name, ext,
                                          s_ts, e_ts))  # fmt: skip
            if team not in teams:
                teams.add(team)
                batch["call_teams"].append((cid, team))
        if answered and rng.random() < 0.5:  # 80 % answered x 50 % = 40 % of calls recorded
            roll = rng.random()
            state = "ready" if roll < 0.97 else "failed" if roll < 0.985 else "processing"
            counter += 1
            batch["recordings"].append((f"{prefix}{counter:019x}", org, cid, first_segment,
                                        state, 1, rng.choice(flag_sets), "[]", fmt.false,
                                        "mp3", int(talk * 1000), e_ts))  # fmt: skip
        if i % 20_000 == 19_999:
            yield batch
            batch = {name: [] for name in TABLES}
    yield batch


# --- loading ----------------------------------------------------------------------------------


def load_sqlite(path: Path, world: World, n: int, end: float, rng: random.Random) -> float:
    started = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({','.join('?' * len(TABLES))})",
        TABLES,
    ).fetchall()
    for name, _ in indexes:  # built once after the load: much faster than row by row
        db.execute(f'DROP INDEX "{name}"')
    fmt = Formats(_timestamp_formatter(""), 0)  # SQLAlchemy's SQLite DATETIME text
    db.execute("BEGIN")
    for k, batch in enumerate(call_rows(world, n, end, fmt, rng)):
        for table, rows in batch.items():
            if rows:
                marks = ",".join("?" * len(rows[0]))
                db.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})", rows)
        if k % 10 == 9:
            db.execute("COMMIT")
            db.execute("BEGIN")
    db.execute("COMMIT")
    for _, sql in indexes:
        db.execute(sql)
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


def load_postgres(url: str, world: World, n: int, end: float, rng: random.Random) -> float:
    started = time.perf_counter()
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        indexes = admin.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(TABLES),),
        ).fetchall()
        for name, _ in indexes:
            admin.execute(f'DROP INDEX "{name}"')
    # COPY's own dumpers write datetimes (in C) faster than Python formats strings.
    fmt = Formats(lambda t: datetime.fromtimestamp(t, UTC), "f")
    with ExitStack() as stack:
        conns = {t: stack.enter_context(psycopg.connect(conninfo)) for t in TABLES}
        copies = {}
        for table, conn in conns.items():
            # A bulk load of consistent rows: skip the per-row foreign-key triggers.
            conn.execute("SET session_replication_role = replica")
            cursor = stack.enter_context(conn.cursor())
            copies[table] = stack.enter_context(
                cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN")
            )
        for batch in call_rows(world, n, end, fmt, rng):
            for table, rows in batch.items():
                write = copies[table].write_row
                for row in rows:
                    write(row)
    # Leaving the stack ended each COPY and committed each connection's transaction.
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SET maintenance_work_mem = '1GB'")
        for _, sql in indexes:
            admin.execute(sql)
        for table in TABLES:
            admin.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


# --- measuring --------------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return round(statistics.median(ordered), 3), round(p95, 3)


def measure(
    url: str, world: World, repeats: int, deep_pages: tuple[int, int], days: int
) -> dict[str, Any]:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    clock = SystemClock()
    today = datetime.now(UTC).date()
    base = {**TYPICAL, "date_from": (today - timedelta(days=days - 1)).isoformat()}
    with factory() as session:
        viewer = session.get(User, world.viewer_id)
        assert viewer is not None
        actor: Actor = build_actor(session, viewer)
        service = CallReportService(session, clock)
        first = service.page(actor, ReportQuery.model_validate(base))
        assert len(first.items) == 50, "the first page should be full"
        # Walk to the deep pages once, keeping their cursors (the walk is the real paging).
        # With fewer pages than asked for (1 M calls in SQLite), the deep pages are the
        # second half of those there are.
        by_page: dict[int, str] = {}
        cursor, page = first.next_cursor, 1
        while cursor and page < deep_pages[1]:
            page += 1
            by_page[page] = cursor
            query = ReportQuery.model_validate({**base, "cursor": cursor})
            cursor = service.page(actor, query).next_cursor
        last_full = page if cursor else page - 1  # the very last page may be short
        low = min(deep_pages[0], max(2, last_full // 2))
        cursors = [c for k, c in by_page.items() if low <= k <= last_full]
        assert cursors, "not enough rows for a deep page"
        session.rollback()
        first_ms, deep_ms = [], []
        rng = random.Random(SEED)
        for _ in range(repeats):
            t0 = time.perf_counter()
            service.page(actor, ReportQuery.model_validate(base))
            first_ms.append((time.perf_counter() - t0) * 1000)
            session.rollback()  # each request is its own transaction
            query = ReportQuery.model_validate({**base, "cursor": rng.choice(cursors)})
            t0 = time.perf_counter()
            result = service.page(actor, query)
            deep_ms.append((time.perf_counter() - t0) * 1000)
            session.rollback()
            assert len(result.items) == 50
        rows = session.execute(text("SELECT count(*) FROM calls")).scalar_one()
    engine.dispose()
    first_p50, first_p95 = _percentiles(first_ms)
    deep_p50, deep_p95 = _percentiles(deep_ms)
    return {"rows": rows, "first_page_p50_ms": first_p50, "first_page_p95_ms": first_p95,
            "deep_page_p50_ms": deep_p50, "deep_page_p95_ms": deep_p95,
            "deep_pages": f"{low}-{last_full}"}  # fmt: skip


def run_sqlite(n: int, repeats: int, deep: tuple[int, int], days: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reports.db"
        url = f"sqlite:///{path}"
        command.upgrade(alembic_config(url), "head")
        rng = random.Random(SEED)
        world = populate_directory(url, rng)
        load_s = load_sqlite(path, world, n, time.time(), rng)
        result = measure(url, world, repeats, deep, days)
    return {"load_s": round(load_s, 1), **result}


def run_postgres(n: int, repeats: int, deep: tuple[int, int], days: int) -> dict[str, Any]:
    name = f"callrec_bench_reports_{os.getpid()}"
    admin_info = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    url = make_url(PG_URL).set(drivername="postgresql+psycopg", database=name)
    url_s = url.render_as_string(hide_password=False)
    with psycopg.connect(admin_info, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        command.upgrade(alembic_config(url_s), "head")
        rng = random.Random(SEED)
        world = populate_directory(url_s, rng)
        load_s = load_postgres(url_s, world, n, time.time(), rng)
        result = measure(url_s, world, repeats, deep, days)
    finally:
        with psycopg.connect(admin_info, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {"load_s": round(load_s, 1), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small size for CI smoke runs")
    args = parser.parse_args()
    sqlite_n, pg_n = (20_000, 20_000) if args.quick else (1_000_000, 10_000_000)
    # Deep pages: 100-200 pages in (5,000-10,000 rows) at full size; what exists when quick.
    deep = (2, 4) if args.quick else (100, 200)
    repeats = 50 if args.quick else 200
    # The typical window is the last 30 days; the quick size has too few calls in it for
    # deep pages, so it filters on the whole year instead.
    days = DAYS if args.quick else 30
    sqlite = run_sqlite(sqlite_n, repeats, deep, days)
    print("sqlite", json.dumps(sqlite), flush=True)
    postgres = run_postgres(pg_n, repeats, deep, days)
    print("postgres", json.dumps(postgres), flush=True)
    result: dict[str, Any] = {"bench": "reports", "quick": args.quick}
    for backend, figures in (("sqlite", sqlite), ("postgres", postgres)):
        for key, value in figures.items():
            result[f"{backend}_{key}"] = value
    result["filters"] = f"last {days} days (Europe/London), inbound, member-groups scope"
    result["target_p95_ms"] = 50.0
    result["meets_target"] = all(
        float(result[f"{b}_{p}_page_p95_ms"]) <= 50.0
        for b in ("sqlite", "postgres")
        for p in ("first", "deep")
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
