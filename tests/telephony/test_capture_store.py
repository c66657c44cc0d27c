"""The database side of a capture: a transfer's new segment tags the new party's team."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from callrec.calls.repository import CallRepository
from callrec.policy.types import Toggle
from callrec.telephony import capture_store
from callrec.telephony.capture_store import Party
from callrec.worker.runtime import Runtime
from tests.directory.factories import World

OUTSIDE = Party("Caller", ("sip:+15550001@sbc.example.com",))


def test_a_transfer_tags_the_new_partys_primary_team(
    runtime: Runtime, world: World, session: Session
) -> None:
    world.org.rec_incoming = Toggle.ON
    session.commit()
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    alice = Party("Alice", ("sip:alice@acme.example.com",))
    opened = capture_store.open_capture(runtime, "acme", "c1@sbc", [OUTSIDE, alice], "<x/>", now)
    assert opened.ref is not None
    bob = Party("Bob", ("sip:bob@acme.example.com",))

    capture_store.start_segment(runtime, opened.ref, 2, [OUTSIDE, bob], None, now)

    session.expire_all()
    call = CallRepository(session).get_full(world.org.id, opened.ref.call_id)
    assert {t.name for t in call.teams} == {"sales", "support"}
    assert {p.user_id for p in call.participants} >= {
        world.users["alice"].id,
        world.users["bob"].id,
    }
