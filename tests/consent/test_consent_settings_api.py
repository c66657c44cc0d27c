"""The org's ask-to-record settings over HTTP: defaults, the prompt in the voice's language or
the org's own text, validation, and that only org admins change them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.audit.service import AuditAction
from callrec.consent import speech, tts
from callrec.consent.playout import consent_for_call
from callrec.models import AuditEvent
from callrec.policy import Decision, Direction, Level, OutgoingMode, Reason
from callrec.storage import MemoryBlobStore
from callrec.worker.runtime import Runtime
from tests.directory.factories import World

API = "/api/v1"
URL = f"{API}/org/consent-settings"
Headers = dict[str, str]
AsUser = Callable[..., Headers]
ASK = Decision(
    True, Reason.RECORDED, Level.USER, Direction.OUTGOING, OutgoingMode.ASK, None, None, ()
)
ENGLISH = "Please press 0 to disable call recording, press 1 to apply call recording."


def ok(resp: Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def error(resp: Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code, body
    return body


def test_defaults_are_the_briefs_prompt_in_english(client: TestClient, as_user: AsUser) -> None:
    assert ok(client.get(URL, headers=as_user("alice"))) == {
        "ask_prompt_text": None,
        "prompt_voice": "en-us",
        "effective_prompt_text": ENGLISH,
        "ask_timeout_s": 10,
        "no_answer": "record",
        "beep": {"tone_hz": 1400.0, "duration_ms": 200},
    }


def test_an_admin_sets_text_voice_timeout_and_no_answer(
    client: TestClient, as_user: AsUser
) -> None:
    admin = as_user("admin")
    change = {
        "ask_prompt_text": "Press 1 to record this call, 0 not to.",
        "prompt_voice": "en",
        "ask_timeout_s": 7,
        "no_answer": "do_not_record",
    }

    body = ok(client.patch(URL, headers=admin, json=change))

    assert body == {
        **change,
        "effective_prompt_text": change["ask_prompt_text"],
        "beep": {"tone_hz": 1400.0, "duration_ms": 200},
    }
    assert ok(client.get(URL, headers=as_user("bob"))) == body
    reset = ok(client.patch(URL, headers=admin, json={"ask_prompt_text": None}))
    assert (reset["ask_prompt_text"], reset["effective_prompt_text"]) == (None, ENGLISH)


def test_the_built_in_prompt_follows_the_voices_language(
    client: TestClient, as_user: AsUser
) -> None:
    body = ok(client.patch(URL, headers=as_user("admin"), json={"prompt_voice": "fr"}))

    assert body["effective_prompt_text"] == speech.ASK_PROMPTS["fr"]


def test_a_language_without_a_built_in_prompt_needs_its_own_text(
    client: TestClient, as_user: AsUser
) -> None:
    admin = as_user("admin")
    voice = next(v for v in speech.voices() if v.language not in speech.ASK_PROMPTS)
    before = ok(client.get(URL, headers=admin))

    body = error(
        client.patch(URL, headers=admin, json={"prompt_voice": voice.id}), 422, "unprocessable"
    )

    assert body["details"] == {"field": "ask_prompt_text", "language": voice.language}
    assert ok(client.get(URL, headers=admin)) == before
    own = {"prompt_voice": voice.id, "ask_prompt_text": "1 record, 0 no."}
    assert ok(client.patch(URL, headers=admin, json=own))["prompt_voice"] == voice.id


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        pytest.param({"prompt_voice": "xx-nowhere"}, 422, "tts_unknown_voice", id="unknown_voice"),
        pytest.param({"ask_prompt_text": "z" * 2001}, 422, "tts_text_too_long", id="too_long"),
        pytest.param({"ask_prompt_text": "  "}, 422, "unprocessable", id="blank_text"),
        pytest.param({"ask_timeout_s": 1}, 422, "invalid_payload", id="timeout_1"),
        pytest.param({"ask_timeout_s": 61}, 422, "invalid_payload", id="timeout_61"),
        pytest.param({"no_answer": "maybe"}, 422, "invalid_payload", id="no_answer"),
        pytest.param({"ask_timeout_s": None}, 422, "unprocessable", id="null_timeout"),
        pytest.param({"volume": 3}, 422, "invalid_payload", id="unknown_field"),
    ],
)
def test_bad_settings_are_refused(
    client: TestClient, as_user: AsUser, change: dict[str, Any], status: int, code: str
) -> None:
    admin = as_user("admin")
    before = ok(client.get(URL, headers=admin))

    error(client.patch(URL, headers=admin, json=change), status, code)

    assert ok(client.get(URL, headers=admin)) == before


def test_the_too_long_prompt_error_gives_count_and_limit(
    client: TestClient, as_user: AsUser
) -> None:
    resp = client.patch(URL, headers=as_user("admin"), json={"ask_prompt_text": "z" * 2001})

    details = error(resp, 422, "tts_text_too_long")["details"]
    assert details == {"field": "ask_prompt_text", "count": 2001, "limit": 2000}


@pytest.mark.parametrize("who", ["supervisor", "alice"])
def test_only_org_admins_change_them(client: TestClient, as_user: AsUser, who: str) -> None:
    resp = client.patch(URL, headers=as_user(who), json={"ask_timeout_s": 5})

    assert "only org admins" in error(resp, 403, "forbidden")["message"]
    assert ok(client.get(URL, headers=as_user(who)))["ask_timeout_s"] == 10


def test_saving_renders_the_prompt_so_calls_find_it_cached(
    client: TestClient, as_user: AsUser, blobs: MemoryBlobStore, runtime: Runtime, world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    text = "Press 1 to record, 0 not to record."
    ok(client.patch(URL, headers=as_user("admin"), json={"ask_prompt_text": text}))
    assert len([k for k in blobs.iter_keys() if k.startswith("tts-cache/")]) == 1

    def refuse(request: tts.TtsRequest) -> tts.Rendered:
        raise AssertionError("a call rendered the prompt again")

    monkeypatch.setattr(tts, "render", refuse)
    consent = consent_for_call(runtime, world.org.id, ASK)

    assert consent.ask_prompt is not None
    assert len(consent.ask_prompt.pcm8k) > 8000 * 2  # more than a second of audio


def test_the_beep_shown_is_the_one_the_proxy_plays() -> None:
    from callrec.consent.settings_service import BEEP_TONE
    from callrec.telephony.proxy import ProxyConfig

    config = ProxyConfig()
    assert {"tone_hz": config.beep_hz, "duration_ms": config.beep_ms} == BEEP_TONE


def test_a_change_is_audited_with_before_and_after_and_a_no_op_is_not(
    client: TestClient, as_user: AsUser, session: Session
) -> None:
    admin = as_user("admin")
    ok(client.patch(URL, headers=admin, json={"ask_timeout_s": 7}))
    ok(client.patch(URL, headers=admin, json={"ask_timeout_s": 7}))  # nothing changes

    session.expire_all()
    audited = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.subject.startswith("consent_settings:"))
        )
    )
    assert len(audited) == 1
    assert audited[0].action == AuditAction.SETTINGS_CHANGED
    assert audited[0].details["changes"]["ask_timeout_s"] == {"before": 10, "after": 7}
