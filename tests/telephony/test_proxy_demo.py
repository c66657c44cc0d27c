"""The demo's proxied calls, end to end: the demo tenant, the recording proxy on real sockets,
our callers and callees. Every call is put through; the recordings exist (not the one whose
caller pressed 0) and carry the consent evidence: the announcement played to the end, the ask
answer with its digit and channel, the beep interval."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import select, update

from callrec.directory.demo import load_demo
from callrec.kit.db import session_scope
from callrec.kit.settings import Settings
from callrec.models import Recording, RecordingState, User
from callrec.telephony.proxy import ProxyConfig
from callrec.telephony.proxy_demo import DEMO_CALLS, place_proxy_demo_calls
from callrec.telephony.runner import MediaThread
from callrec.worker.bootstrap import build_runtime
from callrec.worker.queue import MemoryQueue
from callrec.worker.runtime import Runtime, set_runtime
from tests.dbs import migrated_engine, temp_database

BEEP_S = 3  # Bob's calls beep every 15 s in the demo; the test's calls are shorter


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoProxy:
    runtime: Runtime
    port: int
    callee_port: int


def _start(rt: Runtime) -> tuple[MediaThread, int, int]:
    for _ in range(10):
        port, callee_port = _free_port(socket.SOCK_STREAM), _free_port(socket.SOCK_DGRAM)
        base = 30000 + (port % 500) * 20
        config = ProxyConfig(sip_port=port, rtp_first=base, rtp_last=base + 19,
                             upstream=("127.0.0.1", callee_port), org_slug="demo")  # fmt: skip
        media = MediaThread(rt, None, config)
        try:
            media.start()
        except OSError:
            media.abandon()
            continue
        return media, port, callee_port
    raise AssertionError("no free SIP port after 10 tries")


@pytest.fixture
def demo_proxy(tmp_path: Path) -> Iterator[DemoProxy]:
    with temp_database(tmp_path) as url:
        migrated_engine(url).dispose()
        settings = Settings(data_dir=tmp_path / "data", database_url=url, log_json=True,
                            log_level="WARNING")  # fmt: skip
        rt = build_runtime(settings, queue=MemoryQueue())
        with session_scope(rt.sessionmaker) as session:
            load_demo(session, rt)
            session.execute(update(User).where(User.email == "bob@demo.example.com")
                            .values(rec_beep_interval_s=BEEP_S))  # fmt: skip
        media, port, callee_port = _start(rt)
        try:
            yield DemoProxy(rt, port, callee_port)
        finally:
            media.stop()
            set_runtime(None)
            rt.sessionmaker.kw["bind"].dispose()


def _recordings(rt: Runtime, count: int) -> list[Recording]:
    """Wait for ``count`` captured recordings; all of them then."""
    deadline = time.monotonic() + 20
    while True:
        with rt.sessionmaker() as session:
            rows = list(session.scalars(select(Recording)))
            for row in rows:
                session.expunge(row)
        done = [r for r in rows if r.state is not RecordingState.CAPTURING]
        if len(done) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_the_demo_calls_go_through_the_proxy_with_their_consent(demo_proxy: DemoProxy) -> None:
    announced, asked_1, asked_0, beeped = (
        replace(DEMO_CALLS[0], seconds=3), replace(DEMO_CALLS[1], seconds=3),
        replace(DEMO_CALLS[2], seconds=3), replace(DEMO_CALLS[3], seconds=2 * BEEP_S + 1),
    )  # fmt: skip
    outcomes = asyncio.run(
        place_proxy_demo_calls(
            "127.0.0.1",
            demo_proxy.port,
            demo_proxy.callee_port,
            [announced, asked_1, asked_0, beeped],
        )
    )
    for outcome in outcomes:
        assert outcome.error is None and outcome.status == 200, outcome.describe()
        assert outcome.heard_s > outcome.early_media_s + 1.5, outcome.describe()
        assert outcome.callee_heard_s > 1.5, outcome.describe()
    # The incoming call heard the announcement (early media) before it was put through; the
    # asked callers heard the prompt until they pressed the key; Bob's call had no early media.
    assert outcomes[0].early_media_s >= 1.0
    assert outcomes[1].early_media_s >= 1.0 and outcomes[2].early_media_s >= 1.0
    assert outcomes[3].early_media_s < 0.5

    rows = _recordings(demo_proxy.runtime, 3)
    assert len(rows) == 3, [r.consent_evidence for r in rows]  # Dan pressed 0: none for his
    evidence = [r.consent_evidence or {} for r in rows]
    asked = [e["ask"] for e in evidence if e.get("ask")]
    assert [(a["answer"], a["digit"], a["via"]) for a in asked] == [("record", "1", "rfc4733")]
    played = [e["announcement"] for e in evidence if e.get("announcement")]
    assert [(a["name"], a["played"]) for a in played] == [("Welcome", "complete")]
    assert sorted(e.get("beep_interval_s") or 0 for e in evidence) == [0, 0, BEEP_S]
