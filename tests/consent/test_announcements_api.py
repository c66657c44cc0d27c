"""The announcement library over HTTP: MP3 uploads (valid files accepted, each bad kind refused
with its reason), text-to-speech announcements (the 2,000/2,001-character boundary, voices,
re-rendering), the stored audio (loudness, rates, lengths), deleting and who may do what."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from callrec.kit.settings import Settings
from callrec.media.announce import MAX_MP3_BYTES, PEAK_CEILING, TARGET_LUFS, loudness
from callrec.storage import MemoryBlobStore
from callrec.worker.queue import MemoryQueue
from callrec.worker.registry import load_jobs, run_job
from tests.consent.factories import (
    garbage,
    info_mp3,
    layer2_file,
    tone,
    tone_mp3,
    wav_file,
)
from tests.directory.factories import World

API = "/api/v1"
Headers = dict[str, str]
AsUser = Callable[..., Headers]
WELCOME = "This call may be recorded for quality and training purposes."


def ok(resp: Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def error(resp: Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code, body
    return body


def upload(
    client: TestClient,
    headers: Headers,
    data: bytes,
    name: str = "Welcome",
    filename: str = "a.mp3",
) -> Response:
    return client.post(
        f"{API}/announcements/mp3",
        headers=headers,
        data={"name": name},
        files={"file": (filename, data, "audio/mpeg")},
    )


def create_tts(client: TestClient, headers: Headers, **fields: Any) -> Response:
    body = {"name": "Welcome", "text": WELCOME, **fields}
    return client.post(f"{API}/announcements/tts", headers=headers, json=body)


def audio(client: TestClient, headers: Headers, announcement_id: str, rate: int) -> np.ndarray:
    resp = client.get(f"{API}/announcements/{announcement_id}/audio?rate={rate}", headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(resp.content), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth(), source.getframerate()) == (1, 2, rate)
        pcm = source.readframes(source.getnframes())
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


@pytest.fixture
def admin(as_user: AsUser) -> Headers:
    return as_user("admin")


# --- MP3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("id3", [False, True], ids=["plain", "id3"])
def test_an_mp3_is_stored_normalised_at_8_and_16_khz(
    client: TestClient, admin: Headers, blobs: MemoryBlobStore, id3: bool
) -> None:
    data = tone_mp3(seconds=3.0, id3=id3)

    body = ok(upload(client, admin, data, filename="tone.mp3"), 201)

    assert (body["kind"], body["name"], body["original_filename"]) == ("mp3", "Welcome", "tone.mp3")
    assert body["tts"] is None
    assert abs(body["duration_ms"] - 3000) < 120  # the encoder's delay and padding
    for rate in (8000, 16000):
        samples = audio(client, admin, body["id"], rate)
        assert abs(len(samples) / rate * 1000 - body["duration_ms"]) <= 1
        assert abs(loudness(samples, rate) - TARGET_LUFS) < 0.5
        assert np.abs(samples).max() <= PEAK_CEILING + 1e-4
        spectrum = np.abs(np.fft.rfft(samples))
        assert abs(np.argmax(spectrum) * rate / len(samples) - 1000) < 5  # still the tone
    originals = [k for k in blobs.iter_keys() if k.endswith("original.mp3")]
    assert [blobs.get_bytes(k) for k in originals] == [data]
    assert ok(client.get(f"{API}/announcements/{body['id']}", headers=admin)) == body


def test_a_loud_mp3_is_limited_so_no_sample_clips(client: TestClient, admin: Headers) -> None:
    """Square-ish speech-level peaks: reaching -18 LUFS needs the limiter."""
    rate = 16000
    t = np.arange(rate * 3) / rate
    bursts = np.sign(np.sin(2 * np.pi * 300 * t)) * (np.sin(2 * np.pi * 2 * t) > 0.95)
    quiet = (0.02 * np.sin(2 * np.pi * 200 * t) + 0.9 * bursts) * 32767

    body = ok(upload(client, admin, info_mp3(quiet.astype(np.int16), rate)), 201)

    for rate_out in (8000, 16000):
        samples = audio(client, admin, body["id"], rate_out)
        assert np.abs(samples).max() <= PEAK_CEILING + 1e-4
        assert np.count_nonzero(np.abs(samples) >= 0.999) == 0


BAD_FILES: list[Any] = [
    pytest.param(lambda: wav_file(tone()), "mp3_wrong_format", "WAV", id="renamed_wav"),
    pytest.param(layer2_file, "mp3_wrong_layer", "Layer II", id="layer_ii"),
    pytest.param(
        lambda: info_mp3(tone(4.0))[: len(info_mp3(tone(4.0))) // 2],
        "mp3_truncated",
        "truncated",
        id="truncated_info",
    ),
    pytest.param(
        lambda: tone_mp3(4.0)[: len(tone_mp3(4.0)) // 2 + 37],
        "mp3_truncated",
        "truncated",
        id="truncated_cut_frame",
    ),
    pytest.param(garbage, "mp3_wrong_format", "not an MP3", id="random_bytes"),
    pytest.param(lambda: b"", "mp3_empty", "empty", id="empty"),
    pytest.param(lambda: tone_mp3(2.0)[:300], "mp3_too_short", "fewer than 4", id="three_frames"),
]


@pytest.mark.parametrize(("make", "code", "says"), BAD_FILES)
def test_a_bad_file_is_refused_with_its_reason(
    client: TestClient,
    admin: Headers,
    blobs: MemoryBlobStore,
    make: Callable[[], bytes],
    code: str,
    says: str,
) -> None:
    resp = upload(client, admin, make())

    body = error(resp, 422, code)
    assert says in body["message"]
    assert body["details"]["reason"] == code.removeprefix("mp3_")
    assert ok(client.get(f"{API}/announcements", headers=admin)) == []
    assert list(blobs.iter_keys()) == []


def test_a_corrupted_mp3_is_refused(client: TestClient, admin: Headers) -> None:
    """Frames damaged in the middle (more than 1 % of them) fail to decode."""
    data = bytearray(tone_mp3(6.0))
    rng = np.random.default_rng(3)
    # Scribble over the main data of many frames, keeping the first four headers intact.
    for at in rng.integers(1000, len(data) - 200, size=80):
        data[at : at + 40] = rng.bytes(40)

    body = error(upload(client, admin, bytes(data)), 422, "mp3_corrupt")
    assert "failed to decode" in body["message"]


def test_an_over_size_file_is_413(client: TestClient, admin: Headers) -> None:
    data = tone_mp3(2.0)
    big = data * (MAX_MP3_BYTES // len(data) + 1)
    assert len(big) > MAX_MP3_BYTES

    body = error(upload(client, admin, big), 413, "payload_too_large")
    assert body["details"] == {"limit_bytes": MAX_MP3_BYTES}


def test_an_upload_needs_a_form_with_name_and_file(client: TestClient, admin: Headers) -> None:
    raw = client.post(
        f"{API}/announcements/mp3",
        headers={**admin, "content-type": "audio/mpeg"},
        content=tone_mp3(1.0),
    )
    error(raw, 415, "unsupported_media_type")
    no_file = client.post(f"{API}/announcements/mp3", headers=admin, data={"name": "x"}, files={})
    assert no_file.status_code in (415, 422)
    blank = upload(client, admin, tone_mp3(1.0), name="  ")
    assert error(blank, 422, "invalid_payload")["message"].startswith("name:")


def test_names_are_unique_in_an_org(client: TestClient, admin: Headers) -> None:
    ok(upload(client, admin, tone_mp3(1.0), name="Same"), 201)

    error(upload(client, admin, tone_mp3(1.0), name="Same"), 409, "conflict")
    error(create_tts(client, admin, name="Same"), 409, "conflict")


# --- text-to-speech --------------------------------------------------------------------------


def test_a_tts_announcement_is_rendered_and_stored(client: TestClient, admin: Headers) -> None:
    body = ok(create_tts(client, admin, voice="en-us", pitch=3, rate=5, gender="male"), 201)

    assert body["kind"] == "tts"
    assert body["tts"] == {
        "text": WELCOME,
        "voice": "en-us",
        "pitch": 3,
        "rate": 5,
        "gender": "male",
    }
    assert 2000 < body["duration_ms"] < 8000
    for rate in (8000, 16000):
        samples = audio(client, admin, body["id"], rate)
        assert abs(len(samples) / rate * 1000 - body["duration_ms"]) <= 1
        assert abs(loudness(samples, rate) - TARGET_LUFS) < 1.0
        assert np.abs(samples).max() <= PEAK_CEILING + 1e-4


def test_2000_characters_are_accepted_and_2001_refused_with_count_and_limit(
    client: TestClient, admin: Headers
) -> None:
    words = ("recorded calls help us serve you better " * 60)[:2000]
    assert len(words) == 2000

    ok(create_tts(client, admin, name="Long", text=words), 201)
    body = error(
        create_tts(client, admin, name="Longer", text=words + "x"), 422, "tts_text_too_long"
    )

    assert body["details"] == {"field": "text", "count": 2001, "limit": 2000}
    assert "2001" in body["message"] and "2000" in body["message"]
    assert [a["name"] for a in ok(client.get(f"{API}/announcements", headers=admin))] == ["Long"]


def test_the_limit_is_configurable(client: TestClient, admin: Headers, settings: Settings) -> None:
    settings.tts_max_chars = 20

    body = error(create_tts(client, admin, text="x" * 21), 422, "tts_text_too_long")
    assert (body["details"]["count"], body["details"]["limit"]) == (21, 20)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        pytest.param({"voice": "xx-nowhere"}, "tts_unknown_voice", id="unknown_voice"),
        pytest.param({"pitch": 10}, "invalid_payload", id="pitch_10"),
        pytest.param({"pitch": -1}, "invalid_payload", id="pitch_minus_1"),
        pytest.param({"rate": 10}, "invalid_payload", id="rate_10"),
        pytest.param({"gender": "robot"}, "invalid_payload", id="gender"),
        pytest.param({"text": "   "}, "unprocessable", id="blank_text"),
    ],
)
def test_bad_tts_parameters_are_refused(
    client: TestClient, admin: Headers, fields: dict[str, Any], code: str
) -> None:
    error(create_tts(client, admin, **fields), 422, code)
    assert ok(client.get(f"{API}/announcements", headers=admin)) == []


def test_changing_the_text_renders_again_and_purges_the_old_audio(
    client: TestClient, admin: Headers, blobs: MemoryBlobStore, queue: MemoryQueue
) -> None:
    first = ok(create_tts(client, admin, text="Short."), 201)
    before = audio(client, admin, first["id"], 16000)
    old_keys = set(blobs.iter_keys())

    longer = "This message is a good deal longer than the first one was, by design."
    changed = ok(
        client.patch(f"{API}/announcements/{first['id']}", headers=admin, json={"text": longer})
    )

    after = audio(client, admin, first["id"], 16000)
    assert changed["tts"]["text"] == longer
    assert changed["duration_ms"] > first["duration_ms"] * 2
    assert len(after) > 2 * len(before)
    assert changed["sha256"] != first["sha256"]
    assert [(name, set(args)) for name, args in queue.sent[-1:]] == [
        ("consent.purge_audio", old_keys)
    ]


@pytest.mark.parametrize(
    "change",
    [{"voice": "fr"}, {"pitch": 9}, {"rate": 9}, {"gender": "male"}],
    ids=["voice", "pitch", "rate", "gender"],
)
def test_every_speech_parameter_renders_again(
    client: TestClient, admin: Headers, change: dict[str, Any]
) -> None:
    first = ok(create_tts(client, admin, pitch=2, rate=2, gender="female"), 201)

    changed = ok(client.patch(f"{API}/announcements/{first['id']}", headers=admin, json=change))

    assert changed["sha256"] != first["sha256"]
    assert changed["tts"] == {**first["tts"], **change}


def test_a_rename_does_not_render_again(
    client: TestClient, admin: Headers, queue: MemoryQueue
) -> None:
    first = ok(create_tts(client, admin), 201)
    jobs = list(queue.sent)

    renamed = ok(
        client.patch(f"{API}/announcements/{first['id']}", headers=admin, json={"name": "Hello"})
    )

    assert (renamed["name"], renamed["sha256"], renamed["audio"]) == (
        "Hello",
        first["sha256"],
        first["audio"],
    )
    assert queue.sent == jobs


def test_a_failed_re_render_keeps_the_stored_audio(client: TestClient, admin: Headers) -> None:
    first = ok(create_tts(client, admin), 201)
    before = audio(client, admin, first["id"], 8000)

    resp = client.patch(
        f"{API}/announcements/{first['id']}", headers=admin, json={"text": "x" * 2001}
    )

    error(resp, 422, "tts_text_too_long")
    assert ok(client.get(f"{API}/announcements/{first['id']}", headers=admin)) == first
    assert np.array_equal(audio(client, admin, first["id"], 8000), before)


def test_an_mp3_has_no_speech_parameters(client: TestClient, admin: Headers) -> None:
    mp3 = ok(upload(client, admin, tone_mp3(1.0)), 201)

    resp = client.patch(f"{API}/announcements/{mp3['id']}", headers=admin, json={"text": "Hi"})

    error(resp, 422, "unprocessable")


def test_voices_have_ids_and_readable_names(client: TestClient, as_user: AsUser) -> None:
    voices = ok(client.get(f"{API}/tts/voices", headers=as_user("alice")))

    by_id = {v["id"]: v for v in voices}
    assert len(voices) > 50
    assert by_id["en-us"] == {"id": "en-us", "name": "English (America)", "language": "en"}
    assert all(v["name"] and v["name"] != v["id"] for v in voices)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_preview_returns_audio_and_stores_nothing(
    client: TestClient, admin: Headers, blobs: MemoryBlobStore, rate: int
) -> None:
    resp = client.post(
        f"{API}/tts/preview", headers=admin, json={"text": WELCOME, "sample_rate": rate}
    )

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(resp.content), "rb") as source:
        assert source.getframerate() == rate
        samples = np.frombuffer(source.readframes(source.getnframes()), "<i2") / 32768.0
    assert len(samples) > 2 * rate
    assert abs(loudness(samples, rate) - TARGET_LUFS) < 1.0
    assert list(blobs.iter_keys()) == []
    assert ok(client.get(f"{API}/announcements", headers=admin)) == []


def test_preview_over_the_limit_is_refused(client: TestClient, admin: Headers) -> None:
    resp = client.post(f"{API}/tts/preview", headers=admin, json={"text": "y" * 2001})

    assert error(resp, 422, "tts_text_too_long")["details"]["count"] == 2001


# --- reading, deleting, permissions ----------------------------------------------------------


def test_audio_honours_a_byte_range(client: TestClient, admin: Headers) -> None:
    body = ok(upload(client, admin, tone_mp3(1.0)), 201)
    url = f"{API}/announcements/{body['id']}/audio?rate=8000"
    whole = client.get(url, headers=admin).content

    part = client.get(url, headers={**admin, "range": "bytes=10-99"})

    assert part.status_code == 206
    assert part.content == whole[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(whole)}"
    beyond = client.get(url, headers={**admin, "range": f"bytes={len(whole)}-"})
    assert error(beyond, 416, "range_not_satisfiable")["details"] == {"size": len(whole)}
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"


def test_list_is_sorted_by_name(client: TestClient, admin: Headers) -> None:
    for name in ("b", "a", "c"):
        ok(upload(client, admin, tone_mp3(0.5), name=name), 201)

    assert [a["name"] for a in ok(client.get(f"{API}/announcements", headers=admin))] == [
        "a",
        "b",
        "c",
    ]


def test_delete_removes_it_and_purges_its_audio(
    client: TestClient, admin: Headers, blobs: MemoryBlobStore, queue: MemoryQueue
) -> None:
    body = ok(upload(client, admin, tone_mp3(1.0)), 201)
    keys = set(blobs.iter_keys())

    resp = client.delete(f"{API}/announcements/{body['id']}", headers=admin)

    assert resp.status_code == 204, resp.text
    error(client.get(f"{API}/announcements/{body['id']}", headers=admin), 404, "not_found")
    assert [(name, set(args)) for name, args in queue.sent[-1:]] == [("consent.purge_audio", keys)]


def test_the_purge_job_deletes_only_unnamed_audio(
    client: TestClient, admin: Headers, blobs: MemoryBlobStore, runtime: Any
) -> None:
    kept = ok(upload(client, admin, tone_mp3(1.0), name="kept"), 201)
    gone = ok(upload(client, admin, tone_mp3(1.0), name="gone"), 201)
    gone_keys = [k for k in blobs.iter_keys() if gone["id"] in k]
    kept_keys = [k for k in blobs.iter_keys() if kept["id"] in k]
    assert client.delete(f"{API}/announcements/{gone['id']}", headers=admin).status_code == 204

    load_jobs()
    run_job(runtime, "consent.purge_audio", *gone_keys, *kept_keys)  # kept: still named

    assert sorted(blobs.iter_keys()) == sorted(kept_keys)
    audio(client, admin, kept["id"], 8000)


@pytest.mark.parametrize("who", ["supervisor", "alice"])
def test_members_list_and_play_but_only_admins_and_supervisors_build(
    client: TestClient, world: World, as_user: AsUser, admin: Headers, who: str
) -> None:
    made = ok(upload(client, admin, tone_mp3(1.0), name="Org"), 201)
    headers = as_user(who)

    assert [a["id"] for a in ok(client.get(f"{API}/announcements", headers=headers))] == [
        made["id"]
    ]
    audio(client, headers, made["id"], 8000)
    attempts = [
        upload(client, headers, tone_mp3(1.0), name="Mine"),
        create_tts(client, headers, name="Mine too"),
        client.patch(f"{API}/announcements/{made['id']}", headers=headers, json={"name": "x"}),
        client.post(f"{API}/tts/preview", headers=headers, json={"text": "hi"}),
        client.delete(f"{API}/announcements/{made['id']}", headers=headers),
    ]
    statuses = [r.status_code for r in attempts]
    if who == "supervisor":
        assert statuses[:4] == [201, 201, 200, 200]
        assert statuses[4] == 204
    else:
        assert statuses == [403] * 5
        assert "only org admins and supervisors" in attempts[0].json()["error"]["message"]


def test_signed_out_requests_are_refused(client: TestClient) -> None:
    assert client.get(f"{API}/announcements").status_code == 401
    assert client.get(f"{API}/tts/voices").status_code == 401
