"""Upload → queue → process → ready, asserted on the audio a listener would hear."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callrec.kit.clock import FakeClock
from callrec.models import Org, Recording
from callrec.storage import MemoryBlobStore
from callrec.worker.queue import MemoryQueue
from callrec.worker.runtime import Runtime
from tests.directory.factories import World
from tests.recordings.audio import dbfs, decode, window
from tests.recordings.conftest import MakeCall

Headers = dict[str, str]
CRATE = 8000


def upload(client: TestClient, call: dict[str, Any], body: bytes, headers: Headers, seq: int = 1):  # type: ignore[no-untyped-def]
    return client.put(
        f"/api/v1/calls/{call['id']}/segments/{seq}/recording", content=body, headers=headers
    )


def process_all(queue: MemoryQueue, runtime: Runtime) -> int:
    return queue.drain(runtime)


def recording_of(client: TestClient, rid: str, headers: Headers) -> dict[str, Any]:
    response = client.get(f"/api/v1/recordings/{rid}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_capture_becomes_a_mono_mp3_with_hold_kept_as_silence(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime, blobs: MemoryBlobStore,
) -> None:  # fmt: skip
    on = client.patch("/api/v1/org/settings", json={"incoming": "on"}, headers=admin)
    assert on.status_code == 200
    call = make_call(seconds=60)
    response = upload(client, call, capture(60, seed=3, hold=(20.0, 30.0)), admin)
    assert response.status_code == 201, response.text
    rid = response.json()["id"]
    assert response.json()["state"] == "captured"
    assert queue.sent == [("recording.process", (rid,))]

    assert process_all(queue, runtime) == 1
    rec = recording_of(client, rid, admin)
    assert rec["state"] == "ready"
    assert (rec["format"], rec["channels"], rec["sample_rate"]) == ("mp3", 1, CRATE)
    assert abs(rec["duration_ms"] - 60_000) <= 20
    assert rec["quality_flags"] == []
    assert rec["decision_trace"]["record"] is True  # the policy snapshot taken at ingest
    assert rec["decision_trace"]["decided_by"] == "org"

    stored = session_recording(runtime, rid)
    audio = blobs.get_bytes(stored.storage_key or "")
    rate, channels, samples = decode(audio)
    assert (rate, channels) == (CRATE, 1)
    assert abs(len(samples) / rate - 60.0) < 0.1  # the hold did not shorten the recording
    assert dbfs(window(samples, rate, 21.0, 29.0)) < -60  # hold: silence
    assert dbfs(window(samples, rate, 1.0, 19.0)) > -35  # conversation
    assert stored.sha256 is not None and len(stored.sha256) == 64
    peaks = blobs.get_bytes(stored.peaks_key or "")
    assert b'"samples_per_pixel"' in peaks


def test_both_parties_are_in_the_mono_mix(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime, blobs: MemoryBlobStore,
) -> None:  # fmt: skip
    from callrec.media.synth import CALLEE, CALLER, FRAME, talk_plan

    call = make_call(seconds=40)
    rid = upload(client, call, capture(40, seed=5), admin).json()["id"]
    process_all(queue, runtime)
    _, _, samples = decode(blobs.get_bytes(session_recording(runtime, rid).storage_key or ""))
    plan = talk_plan(40, 5)
    for speaker, party in ((0, CALLER), (1, CALLEE)):
        frames = np.flatnonzero(plan == speaker)
        assert len(frames) > 50
        # the longest run of this speaker's frames, analysed for its pitch
        start = frames[0] * FRAME + 800  # skip the MP3 encoder delay and the turn's onset
        seg = samples[start : start + 4000]
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
        freqs = np.fft.rfftfreq(len(seg), 1 / CRATE)
        assert abs(freqs[int(np.argmax(spectrum))] - party.pitch_hz) < 15


def test_the_same_upload_twice_is_one_recording_and_one_job(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime,
) -> None:  # fmt: skip
    call = make_call()
    body = capture(20, seed=1)
    first = upload(client, call, body, admin)
    again = upload(client, call, body, admin)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(queue.sent) == 1
    process_all(queue, runtime)
    different = upload(client, call, capture(21, seed=2), admin)
    assert different.status_code == 409
    assert different.json()["error"]["details"]["recording_id"] == first.json()["id"]


def test_running_the_job_twice_changes_nothing(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime, blobs: MemoryBlobStore,
) -> None:  # fmt: skip
    rid = upload(client, make_call(), capture(20), admin).json()["id"]
    process_all(queue, runtime)
    keys, before = sorted(blobs.iter_keys()), recording_of(client, rid, admin)
    from callrec.recordings.tasks import process

    process(runtime, rid)
    assert sorted(blobs.iter_keys()) == keys
    assert recording_of(client, rid, admin) == before


def test_a_corrupt_capture_fails_with_the_reason_and_keeps_the_source(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime, blobs: MemoryBlobStore,
) -> None:  # fmt: skip
    body = bytearray(capture(10))
    body[4] = 9  # an unknown format version
    rid = upload(client, make_call(), bytes(body), admin).json()["id"]
    process_all(queue, runtime)
    rec = recording_of(client, rid, admin)
    assert rec["state"] == "failed"
    assert "version" in rec["failure_reason"]
    stored = session_recording(runtime, rid)
    assert stored.source_key is not None and blobs.exists(stored.source_key)


def test_a_failed_recording_takes_a_new_upload_and_processes_it(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime,
) -> None:  # fmt: skip
    call = make_call()
    bad = bytearray(capture(10))
    bad[4] = 9
    rid = upload(client, call, bytes(bad), admin).json()["id"]
    process_all(queue, runtime)
    fixed = upload(client, call, capture(10), admin)
    assert fixed.status_code == 200 and fixed.json()["id"] == rid
    process_all(queue, runtime)
    assert recording_of(client, rid, admin)["state"] == "ready"


def test_unsupported_and_oversized_uploads_are_refused_and_nothing_is_stored(
    client: TestClient, make_call: MakeCall, admin: Headers, queue: MemoryQueue,
    runtime: Runtime, blobs: MemoryBlobStore,
) -> None:  # fmt: skip
    call = make_call()
    text = upload(client, call, b"this is not audio at all", admin)
    assert text.status_code == 415
    assert "WAV" in text.json()["error"]["message"]
    runtime.settings.upload_max_bytes = 1000
    big = upload(client, call, b"CREC" + b"\0" * 5000, admin)
    assert big.status_code == 413
    assert big.json()["error"]["details"]["limit_bytes"] == 1000
    assert list(blobs.iter_keys()) == [] and queue.sent == []
    uploads = runtime.settings.data_dir / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_a_one_sided_call_is_flagged(
    client: TestClient, make_call: MakeCall, admin: Headers, queue: MemoryQueue,
    runtime: Runtime, tmp_path: Any,
) -> None:  # fmt: skip
    from callrec.media import g711
    from callrec.media.capture import CaptureHeader, CaptureWriter
    from callrec.media.synth import CALLER, voice

    path = tmp_path / "one-sided.crec"
    header = CaptureHeader(sample_rate=CRATE, started_at_ms=0, legs=("caller", "callee"))
    talking = np.ones(500, dtype=bool)
    caller = g711.encode(0, voice(CALLER, 0, 500 * 160, talking))
    silence = g711.encode(0, np.zeros(160, dtype=np.int16))
    with CaptureWriter(path, header) as writer:
        for f in range(500):
            writer.append(0, 0, f * 160, caller[f * 160 : (f + 1) * 160])
            writer.append(1, 0, f * 160, silence)
    rid = upload(client, make_call(), path.read_bytes(), admin).json()["id"]
    process_all(queue, runtime)
    assert recording_of(client, rid, admin)["quality_flags"] == ["one_sided"]


def test_dual_channel_orgs_also_get_caller_left_callee_right(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime, blobs: MemoryBlobStore, session: Session, world: World,
) -> None:  # fmt: skip
    org = session.get(Org, world.org.id)
    assert org is not None
    org.dual_channel = True
    session.commit()
    rid = upload(client, make_call(), capture(30, seed=9), admin).json()["id"]
    process_all(queue, runtime)
    stored = session_recording(runtime, rid)
    assert stored.stereo_key is not None
    rate, channels, samples = decode(blobs.get_bytes(stored.stereo_key))
    assert channels == 2 and abs(len(samples) / 2 / rate - 30.0) < 0.1


def test_the_sla_deadline_follows_the_brief_and_the_watchdog_flags_late_ones(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    runtime: Runtime, clock: FakeClock,
) -> None:  # fmt: skip
    from callrec.recordings.tasks import sla_watchdog

    call = make_call(seconds=600)
    rec = upload(client, call, capture(10), admin).json()
    captured = np.datetime64(rec["captured_at"].replace("Z", ""))
    deadline = np.datetime64(rec["sla_deadline"].replace("Z", ""))
    assert (deadline - captured) / np.timedelta64(1, "s") == 600 / 100 + 60
    sla_watchdog(runtime)
    assert recording_of(client, rec["id"], admin)["sla_breached"] is False
    clock.advance(67)
    sla_watchdog(runtime)
    assert recording_of(client, rec["id"], admin)["sla_breached"] is True


def test_recover_resends_a_recording_whose_job_was_lost(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime, clock: FakeClock,
) -> None:  # fmt: skip
    from callrec.recordings.tasks import recover

    rid = upload(client, make_call(), capture(10), admin).json()["id"]
    queue.sent.clear()  # the job is lost (its worker was killed after taking it)
    recover(runtime)
    assert queue.sent == []  # too fresh to call lost
    clock.advance(31)
    recover(runtime)
    assert queue.sent == [("recording.process", (rid,))]
    process_all(queue, runtime)
    assert recording_of(client, rid, admin)["state"] == "ready"


def test_playback_scope_decides_who_sees_a_recording(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    as_user: Callable[..., Headers], other_world: World,
) -> None:  # fmt: skip
    rid = upload(client, make_call(), capture(10), admin).json()["id"]
    alice = client.get(f"/api/v1/recordings/{rid}", headers=as_user("alice"))
    assert alice.status_code == 200
    assert alice.json()["decision_trace"] is None  # the policy trace is for org admins
    assert recording_of(client, rid, admin)["decision_trace"] is not None
    # Outside Bob's scope the call does not exist for him (as in the session view): 404.
    assert client.get(f"/api/v1/recordings/{rid}", headers=as_user("bob")).status_code == 404
    other = as_user("admin", other_world)
    assert client.get(f"/api/v1/recordings/{rid}", headers=other).status_code == 404


def test_calls_are_created_once_per_external_id(
    make_call: MakeCall,
) -> None:
    first = make_call(external_id="pbx-42")
    again = make_call(external_id="pbx-42")
    assert first["id"] == again["id"]
    assert [s["sequence"] for s in first["segments"]] == [1]
    assert {p["name"] for p in first["participants"]} == {"Alice"}


def session_recording(runtime: Runtime, rid: str) -> Recording:
    with runtime.sessionmaker() as session:
        recording = session.get(Recording, uuid.UUID(rid))
        assert recording is not None
        session.expunge(recording)
        return recording


@pytest.mark.parametrize(
    ("fmt", "codec", "rate", "expected_rate"),
    [
        pytest.param("wav", "pcm_s16le", 8000, 8000, id="wav_pcm_8k"),
        pytest.param("wav", "pcm_mulaw", 8000, 8000, id="wav_mulaw"),
        pytest.param("wav", "pcm_alaw", 8000, 8000, id="wav_alaw"),
        pytest.param("wav", "pcm_s16le", 44100, 16000, id="wav_44k_to_wideband"),
        pytest.param("ogg", "libopus", 48000, 16000, id="ogg_opus"),
        pytest.param("mp3", "mp3", 16000, 16000, id="mp3"),
    ],
)
def test_uploads_made_elsewhere_are_accepted_and_keep_both_sides(
    client: TestClient, make_call: MakeCall, admin: Headers, queue: MemoryQueue,
    runtime: Runtime, blobs: MemoryBlobStore, tmp_path: Any,
    fmt: str, codec: str, rate: int, expected_rate: int,
) -> None:  # fmt: skip
    from tests.media.test_decode import stereo, write_av, write_mp3

    seconds = 3.0
    pcm = stereo(rate, seconds)
    path = tmp_path / f"upload.{fmt}"
    if fmt == "mp3":
        write_mp3(path, rate, pcm[0])
    else:
        write_av(path, fmt, codec, rate, pcm)
    response = upload(client, make_call(), path.read_bytes(), admin)
    assert response.status_code == 201, response.text
    assert response.json()["source_format"] == fmt
    process_all(queue, runtime)
    rec = recording_of(client, response.json()["id"], admin)
    assert rec["state"] == "ready", rec["failure_reason"]
    assert rec["sample_rate"] == expected_rate
    assert abs(rec["duration_ms"] - seconds * 1000) <= 60
    got_rate, channels, samples = decode(
        blobs.get_bytes(session_recording(runtime, rec["id"]).storage_key or "")
    )
    assert (got_rate, channels) == (expected_rate, 1)
    spectrum = np.abs(np.fft.rfft(window(samples, got_rate, 0.5, 2.5)))
    freqs = np.fft.rfftfreq(len(window(samples, got_rate, 0.5, 2.5)), 1 / got_rate)
    strong = {round(float(f)) for f in freqs[spectrum > spectrum.max() / 4]}
    assert any(abs(f - 1000) < 10 for f in strong)  # the caller's tone
    if fmt != "mp3":  # the MP3 fixture is mono: one side only
        assert any(abs(f - 400) < 10 for f in strong)  # the callee's tone, mixed in


def test_opus_delivery_is_an_ogg_file_of_the_same_call(
    client: TestClient, make_call: MakeCall, capture: Callable[..., bytes], admin: Headers,
    queue: MemoryQueue, runtime: Runtime, blobs: MemoryBlobStore,
) -> None:  # fmt: skip
    runtime.settings.delivery_format = "opus"
    rid = upload(client, make_call(), capture(20, seed=4, hold=(5.0, 10.0)), admin).json()["id"]
    process_all(queue, runtime)
    rec = recording_of(client, rid, admin)
    assert (rec["state"], rec["format"]) == ("ready", "opus")
    stored = session_recording(runtime, rid)
    assert stored.storage_key is not None and stored.storage_key.endswith("/audio.ogg")
    rate, channels, samples = decode(blobs.get_bytes(stored.storage_key))
    assert channels == 1
    assert abs(len(samples) / rate - 20.0) < 0.1
    assert dbfs(window(samples, rate, 6.0, 9.0)) < -50  # the hold, silent
    assert dbfs(window(samples, rate, 0.5, 4.5)) > -35
