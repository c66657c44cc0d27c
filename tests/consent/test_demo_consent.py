"""The demo tenant's consent setup: a TTS welcome for incoming calls (org level), ask-to-record
and beeps for Support, Carol asking and Bob beeping at the user level; the brief's two worked
examples still decide as before."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.consent.playout import consent_for_call
from callrec.directory.demo import DEMO_ANNOUNCEMENT, load_demo
from callrec.directory.recording_service import DecisionService
from callrec.media.announce import TARGET_LUFS, loudness, pcm_to_float
from callrec.models import Announcement, AnnouncementKind, Device, Org, User
from callrec.policy import Direction, OutgoingMode
from callrec.worker.runtime import Runtime


@pytest.fixture
def demo(session: Session, runtime: Runtime) -> Org:
    org = load_demo(session, runtime)
    session.commit()
    return org


def user(session: Session, org: Org, first: str) -> User:
    return session.scalars(
        select(User).where(User.org_id == org.id, User.display_name.startswith(first))
    ).one()


def desk(session: Session, org: Org, first: str) -> Device:
    return session.scalars(
        select(Device).where(Device.org_id == org.id, Device.sip_username == first.lower())
    ).one()


def test_incoming_calls_hear_the_tts_welcome(session: Session, runtime: Runtime, demo: Org) -> None:
    welcome = session.scalars(select(Announcement).where(Announcement.org_id == demo.id)).one()
    assert (welcome.kind, welcome.tts_text) == (AnnouncementKind.TTS, DEMO_ANNOUNCEMENT)
    decisions = DecisionService(session)

    made = decisions.decide_system(
        demo.id, Direction.INCOMING, device_id=desk(session, demo, "Dan").id
    )
    consent = consent_for_call(runtime, demo.id, made)

    assert made.record and made.announcement_id == str(welcome.id)
    assert consent.announcement is not None and consent.announcement.name == "Welcome"
    samples = pcm_to_float(consent.announcement.pcm8k)
    assert 2.0 < len(samples) / 8000 < 8.0
    assert abs(loudness(samples, 8000) - TARGET_LUFS) < 1.0
    assert consent.beep_interval_s == 15  # Dan is in Support


def test_carol_asks_and_bob_beeps_at_the_user_level_and_the_briefs_examples_hold(
    session: Session, runtime: Runtime, demo: Org
) -> None:
    """One test for both (loading the demo hashes a dozen passwords: slow)."""
    decisions = DecisionService(session)

    carol = decisions.decide_system(
        demo.id, Direction.OUTGOING, user_id=user(session, demo, "Carol").id
    )
    bob = decisions.decide_system(
        demo.id, Direction.OUTGOING, user_id=user(session, demo, "Bob").id
    )
    alice_desk = decisions.decide_system(
        demo.id, Direction.INCOMING, device_id=desk(session, demo, "Alice").id
    )
    bob_desk = decisions.decide_system(
        demo.id, Direction.OUTGOING, device_id=desk(session, demo, "Bob").id
    )

    assert (carol.record, carol.outgoing_mode) == (True, OutgoingMode.ASK)
    assert consent_for_call(runtime, demo.id, carol).ask_prompt is not None
    assert (bob.record, bob.outgoing_mode, bob.beep_interval_s) == (
        True,
        OutgoingMode.RECORD_ALL,
        15,
    )
    assert consent_for_call(runtime, demo.id, bob).ask_prompt is None
    # Brief example 1: device Off, user Inherit, org On (incoming) → not recorded.
    assert (alice_desk.record, alice_desk.decided_by) == (False, "device")
    # Brief example 2: device Inherit, user On, org Off (outgoing) → recorded.
    assert (bob_desk.record, bob_desk.decided_by) == (True, "user")
