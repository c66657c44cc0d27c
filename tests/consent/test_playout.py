"""consent_for_call: what a call plays, from the decision and the org's stored consent data."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session

from callrec.consent import speech, tts
from callrec.consent.playout import CallConsent, PromptAudio, consent_for_call
from callrec.directory.recording_service import DecisionService
from callrec.kit.settings import Settings
from callrec.media.announce import TARGET_LUFS, loudness, pcm_to_float, read_wav
from callrec.models import Announcement, ConsentSettings, NoAnswer
from callrec.policy import Decision, Direction, Level, OutgoingMode, Reason
from callrec.policy.types import AnnouncementMode, Toggle
from callrec.storage import MemoryBlobStore
from callrec.worker.runtime import Runtime
from tests.consent.factories import make_tone_announcement
from tests.directory.factories import World


def decision(
    direction: Direction,
    *,
    record: bool = True,
    announcement_id: object = None,
    mode: OutgoingMode | None = None,
    beep: int | None = None,
) -> Decision:
    return Decision(
        record=record,
        reason=Reason.RECORDED if record else Reason.SETTING_OFF,
        decided_by=Level.ORG,
        direction=direction,
        outgoing_mode=mode,
        beep_interval_s=beep,
        announcement_id=None if announcement_id is None else str(announcement_id),
        trace=(),
    )


@pytest.fixture
def tone(
    session: Session, blobs: MemoryBlobStore, settings: Settings, world: World
) -> Announcement:
    made = make_tone_announcement(session, blobs, settings, world.org, "Welcome tone")
    session.commit()
    return made


def test_an_incoming_recorded_call_gets_its_announcement(
    runtime: Runtime, world: World, tone: Announcement, blobs: MemoryBlobStore
) -> None:
    consent = consent_for_call(
        runtime, world.org.id, decision(Direction.INCOMING, announcement_id=tone.id, beep=15)
    )

    assert consent.ask_prompt is None
    assert consent.beep_interval_s == 15
    assert consent.announcement is not None
    heard = consent.announcement
    assert (heard.kind, heard.announcement_id, heard.name) == ("announcement", tone.id, tone.name)
    assert heard.pcm8k == read_wav(blobs.get_bytes(tone.audio_8k_key))[0]
    samples = pcm_to_float(heard.pcm8k)
    assert abs(len(samples) / 8000 * 1000 - tone.duration_ms) <= 1
    assert abs(loudness(samples, 8000) - TARGET_LUFS) < 0.5


IN, OUT = Direction.INCOMING, Direction.OUTGOING


@pytest.mark.parametrize(
    "made",
    [
        pytest.param(lambda a: decision(IN, record=False, announcement_id=a), id="not_recorded"),
        pytest.param(lambda a: decision(OUT, announcement_id=a), id="outgoing"),
        pytest.param(lambda a: decision(IN, announcement_id=uuid.uuid4()), id="unknown_id"),
        pytest.param(lambda a: decision(IN), id="none_chosen"),
    ],
)
def test_no_announcement_unless_recorded_incoming_and_known(
    runtime: Runtime, world: World, tone: Announcement, made: Any
) -> None:
    consent = consent_for_call(runtime, world.org.id, made(tone.id))

    assert consent.announcement is None
    assert consent.ask_prompt is None


def test_another_orgs_announcement_never_plays(
    runtime: Runtime, other_world: World, tone: Announcement
) -> None:
    consent = consent_for_call(
        runtime, other_world.org.id, decision(Direction.INCOMING, announcement_id=tone.id)
    )

    assert consent.announcement is None


def test_an_outgoing_ask_call_gets_the_prompt_rendered_once(
    runtime: Runtime, world: World, blobs: MemoryBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[tts.TtsRequest] = []
    real = tts.render

    def counting(request: tts.TtsRequest) -> tts.Rendered:
        renders.append(request)
        return real(request)

    monkeypatch.setattr(tts, "render", counting)
    ask = decision(Direction.OUTGOING, mode=OutgoingMode.ASK, beep=30)

    first = consent_for_call(runtime, world.org.id, ask)
    second = consent_for_call(runtime, world.org.id, ask)

    assert first == second
    assert first.announcement is None
    assert (first.ask_timeout_s, first.ask_default_record, first.beep_interval_s) == (
        10.0,
        True,
        30,
    )
    prompt = first.ask_prompt
    assert prompt is not None
    assert (prompt.kind, prompt.announcement_id) == ("ask_prompt", None)
    assert [r.text for r in renders] == [speech.ASK_PROMPTS["en"]]
    samples = pcm_to_float(prompt.pcm8k)
    assert 3.0 < len(samples) / 8000 < 10.0
    assert abs(loudness(samples, 8000) - TARGET_LUFS) < 1.0
    assert [k for k in blobs.iter_keys() if k.startswith("tts-cache/")] == [
        speech.cache_key(renders[0])
    ]


def test_the_prompt_cache_survives_a_new_process(
    runtime: Runtime, world: World, blobs: MemoryBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is the blob store, not memory: a fresh runtime on the same store reuses it."""
    ask = decision(Direction.OUTGOING, mode=OutgoingMode.ASK)
    first = consent_for_call(runtime, world.org.id, ask)
    copy = MemoryBlobStore()
    for key in blobs.iter_keys():
        copy.put_bytes(key, blobs.get_bytes(key))

    def refuse(request: tts.TtsRequest) -> tts.Rendered:
        raise AssertionError("rendered again")

    monkeypatch.setattr(tts, "render", refuse)
    again = consent_for_call(dataclasses.replace(runtime, blobs=copy), world.org.id, ask)

    assert again.ask_prompt == first.ask_prompt


def test_the_orgs_prompt_text_voice_timeout_and_default_are_used(
    runtime: Runtime, session: Session, world: World
) -> None:
    session.add(
        ConsentSettings(
            org_id=world.org.id,
            ask_prompt_text="Press one to record.",
            prompt_voice="en",
            ask_timeout_s=4,
            no_answer=NoAnswer.DO_NOT_RECORD,
        )
    )
    session.commit()
    ask = decision(Direction.OUTGOING, mode=OutgoingMode.ASK)
    default = consent_for_call(runtime, uuid.uuid4(), ask)  # an org with no settings row

    consent = consent_for_call(runtime, world.org.id, ask)

    assert (consent.ask_timeout_s, consent.ask_default_record) == (4.0, False)
    assert consent.ask_prompt is not None and default.ask_prompt is not None
    assert len(consent.ask_prompt.pcm8k) < len(default.ask_prompt.pcm8k) / 2  # shorter text


@pytest.mark.parametrize(
    "made",
    [
        pytest.param(decision(Direction.OUTGOING, mode=OutgoingMode.RECORD_ALL), id="record_all"),
        pytest.param(decision(Direction.OUTGOING, record=False), id="not_recorded"),
        pytest.param(decision(Direction.INCOMING, mode=OutgoingMode.ASK), id="incoming"),
    ],
)
def test_no_prompt_outside_outgoing_ask(runtime: Runtime, world: World, made: Decision) -> None:
    consent = consent_for_call(runtime, world.org.id, made)

    assert consent.ask_prompt is None


def test_no_beep_when_not_recording(runtime: Runtime, world: World) -> None:
    consent = consent_for_call(
        runtime, world.org.id, decision(Direction.INCOMING, record=False, beep=15)
    )

    assert consent == CallConsent(None, None, 10.0, True, None)


def test_from_stored_settings_through_the_policy(
    runtime: Runtime, session: Session, world: World, tone: Announcement
) -> None:
    """The path the proxy takes: stored settings → decide_system → consent_for_call."""
    org = world.org
    org.rec_incoming = Toggle.ON
    org.rec_announcement = AnnouncementMode.PLAY
    org.rec_announcement_id = tone.id
    session.commit()
    made = DecisionService(session).decide_system(
        org.id, Direction.INCOMING, device_id=world.devices["alice"].id
    )

    consent = consent_for_call(runtime, org.id, made)

    assert isinstance(consent.announcement, PromptAudio)
    assert consent.announcement.announcement_id == tone.id
    assert np.frombuffer(consent.announcement.pcm8k, "<i2").any()
