"""Playback over HTTP: RFC 9110 Range and conditional requests on the live stream endpoint,
signed URLs (expiry, tampering, another user's), download names, peaks, and the audit trail
(one event per listening session, one per download)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from callrec.access.rules import PlaybackScope
from callrec.kit.clock import FakeClock
from callrec.models import AuditEvent, Recording, RecordingState, User
from callrec.recordings.playback import http_date
from callrec.storage import MemoryBlobStore
from tests.directory.factories import World
from tests.recordings.playback_world import PEAKS, add_call, add_recording, mp3_bytes

Headers = dict[str, str]
AUDIO = mp3_bytes()
SIZE = len(AUDIO)


@pytest.fixture
def recording(
    session: Session, blobs: MemoryBlobStore, clock: FakeClock, world: World
) -> Recording:
    call = add_call(session, world.org.id, "range", world.users["alice"])
    made = add_recording(session, blobs, clock, call)
    session.commit()
    return made


@pytest.fixture
def alice(as_user: Callable[..., Headers]) -> Headers:
    return as_user("alice")


def _url(client: TestClient, recording: Recording, headers: Headers) -> str:
    r = client.post(f"/api/v1/recordings/{recording.id}/playback", headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["url"])


def _events(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- Range ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),  # first bytes
        (f"bytes={SIZE // 2}-{SIZE // 2 + 999}", SIZE // 2, SIZE // 2 + 1000),  # middle
        ("bytes=-500", SIZE - 500, SIZE),  # suffix
        (f"bytes={SIZE - 300}-", SIZE - 300, SIZE),  # open
        ("bytes=0-", 0, SIZE),  # what the audio element sends first
        (f"bytes=100-{SIZE * 10}", 100, SIZE),  # last-pos past the end is cut
    ],
)
def test_range_requests_get_206_with_exactly_those_bytes(
    client: TestClient, recording: Recording, alice: Headers, header: str, start: int, end: int
) -> None:
    r = client.get(_url(client, recording, alice), headers={"Range": header})
    assert r.status_code == 206, r.text
    assert r.content == AUDIO[start:end]
    assert r.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert r.headers["content-length"] == str(end - start)
    assert r.headers["content-type"] == "audio/mpeg"
    assert r.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(
    "header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0", "bytes=9-3"]
)
def test_unsatisfiable_ranges_get_416_with_the_length(
    client: TestClient, recording: Recording, alice: Headers, header: str
) -> None:
    r = client.get(_url(client, recording, alice), headers={"Range": header})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    assert r.content == b""


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=", "items=0-9", "bytes=0-1,5-9", "0-9"])
def test_ranges_we_ignore_get_the_whole_recording(
    client: TestClient, recording: Recording, alice: Headers, header: str
) -> None:
    r = client.get(_url(client, recording, alice), headers={"Range": header})
    assert r.status_code == 200
    assert r.content == AUDIO
    assert "content-range" not in r.headers
    assert r.headers["content-length"] == str(SIZE)


def test_no_range_is_the_whole_recording_with_validators(
    client: TestClient, recording: Recording, alice: Headers, clock: FakeClock
) -> None:
    r = client.get(_url(client, recording, alice))
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == recording.sha256
    assert r.headers["etag"] == f'"{recording.sha256}"'
    assert r.headers["last-modified"] == http_date(clock.now())
    assert r.headers["cache-control"].startswith("private")


def test_if_range_with_the_current_etag_or_date_honours_the_range(
    client: TestClient, recording: Recording, alice: Headers, clock: FakeClock
) -> None:
    url = _url(client, recording, alice)
    for validator in (f'"{recording.sha256}"', http_date(clock.now())):
        r = client.get(url, headers={"Range": "bytes=10-19", "If-Range": validator})
        assert (r.status_code, r.content) == (206, AUDIO[10:20])


@pytest.mark.parametrize("validator", ['"changed"', 'W/"weak"', "Thu, 01 Jan 2015 00:00:00 GMT"])
def test_if_range_mismatch_sends_the_whole_recording(
    client: TestClient, recording: Recording, alice: Headers, validator: str
) -> None:
    r = client.get(
        _url(client, recording, alice), headers={"Range": "bytes=10-19", "If-Range": validator}
    )
    assert (r.status_code, r.content) == (200, AUDIO)


def test_if_none_match_and_if_modified_since_answer_304(
    client: TestClient, recording: Recording, alice: Headers, clock: FakeClock
) -> None:
    url = _url(client, recording, alice)
    r = client.get(url, headers={"If-None-Match": f'W/"{recording.sha256}"'})
    assert (r.status_code, r.content) == (304, b"")
    assert r.headers["etag"] == f'"{recording.sha256}"'
    r = client.get(url, headers={"If-Modified-Since": http_date(clock.now())})
    assert r.status_code == 304
    r = client.get(url, headers={"If-None-Match": '"other"', "Range": "bytes=0-0"})
    assert (r.status_code, r.content) == (206, AUDIO[:1])


def test_head_gives_the_headers_without_a_body(
    client: TestClient, recording: Recording, alice: Headers
) -> None:
    url = _url(client, recording, alice)
    r = client.head(url)
    assert (r.status_code, r.content) == (200, b"")
    assert r.headers["content-length"] == str(SIZE)
    r = client.head(url, headers={"Range": "bytes=-10"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {SIZE - 10}-{SIZE - 1}/{SIZE}"


def test_an_ogg_opus_recording_is_served_as_audio_ogg(
    client: TestClient, session: Session, blobs: MemoryBlobStore, clock: FakeClock,
    world: World, alice: Headers,
) -> None:  # fmt: skip
    call = add_call(session, world.org.id, "opus", world.users["alice"])
    ogg = b"OggS" + bytes(range(256)) * 8
    made = add_recording(session, blobs, clock, call, audio=ogg, fmt="opus")
    session.commit()
    r = client.get(_url(client, made, alice), headers={"Range": "bytes=0-3"})
    assert (r.status_code, r.content, r.headers["content-type"]) == (206, b"OggS", "audio/ogg")


# --- signed URLs ----------------------------------------------------------------------------


def test_the_url_expires_after_ten_minutes(
    client: TestClient, recording: Recording, alice: Headers, clock: FakeClock
) -> None:
    r = client.post(f"/api/v1/recordings/{recording.id}/playback", headers=alice)
    assert r.json()["expires_at"].startswith((clock.now() + timedelta(minutes=10)).isoformat()[:19])
    url = r.json()["url"]
    clock.advance(9 * 60 + 59)
    assert client.get(url, headers={"Range": "bytes=0-0"}).status_code == 206
    clock.advance(1)
    r = client.get(url, headers={"Range": "bytes=0-0"})
    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]


def test_a_tampered_token_is_refused(
    client: TestClient, recording: Recording, alice: Headers
) -> None:
    url = _url(client, recording, alice)
    last = url[-1]
    tampered = url[:-1] + ("A" if last != "A" else "B")
    r = client.get(tampered)
    assert r.status_code == 401
    assert "signature" in r.json()["error"]["message"]


def test_a_url_for_one_recording_does_not_play_another(
    client: TestClient, session: Session, blobs: MemoryBlobStore, clock: FakeClock,
    world: World, recording: Recording, alice: Headers,
) -> None:  # fmt: skip
    other = add_recording(
        session, blobs, clock, add_call(session, world.org.id, "b", world.users["alice"])
    )
    session.commit()
    token = _url(client, recording, alice).split("token=")[1]
    r = client.get(f"/api/v1/recordings/{other.id}/stream?token={token}")
    assert r.status_code == 401
    assert "another recording" in r.json()["error"]["message"]


def test_another_users_url_is_refused_when_they_send_their_own_credentials(
    client: TestClient, recording: Recording, alice: Headers, as_user: Callable[..., Headers]
) -> None:
    url = _url(client, recording, alice)
    r = client.get(url, headers=as_user("bob"))
    assert r.status_code == 403
    assert "another user" in r.json()["error"]["message"]
    assert client.get(url, headers={**alice, "Range": "bytes=0-0"}).status_code == 206


def test_a_narrowed_scope_stops_the_next_range_request(
    client: TestClient, session: Session, recording: Recording, alice: Headers, world: World
) -> None:
    url = _url(client, recording, alice)
    assert client.get(url, headers={"Range": "bytes=0-0"}).status_code == 206
    user = session.get(User, world.users["alice"].id)
    assert user is not None
    user.playback_scope = PlaybackScope.NONE
    session.commit()
    r = client.get(url, headers={"Range": "bytes=1-1"})
    assert r.status_code == 403
    assert "playback scope is 'none'" in r.json()["error"]["message"]


def test_a_stream_without_token_redirects_signed_in_users_to_a_fresh_url(
    client: TestClient, session: Session, recording: Recording, alice: Headers
) -> None:
    bare = f"/api/v1/recordings/{recording.id}/stream"
    assert client.get(bare).status_code == 401
    r = client.get(bare, headers={**alice, "Range": "bytes=0-9"}, follow_redirects=False)
    assert r.status_code == 307
    assert "token=" in r.headers["location"]
    followed = client.get(r.headers["location"], headers={"Range": "bytes=0-9"})
    assert (followed.status_code, followed.content) == (206, AUDIO[:10])
    assert len(_events(session, "recording.playback")) == 1


def test_a_recording_not_ready_yet_gives_409(
    client: TestClient, session: Session, blobs: MemoryBlobStore, clock: FakeClock,
    world: World, alice: Headers,
) -> None:  # fmt: skip
    call = add_call(session, world.org.id, "busy", world.users["alice"])
    busy = add_recording(session, blobs, clock, call, state=RecordingState.PROCESSING)
    session.commit()
    r = client.post(f"/api/v1/recordings/{busy.id}/playback", headers=alice)
    assert r.status_code == 409
    assert client.get(f"/api/v1/recordings/{busy.id}/download", headers=alice).status_code == 409


# --- audit ----------------------------------------------------------------------------------


def test_one_audit_event_per_listening_session_not_per_range_request(
    client: TestClient, session: Session, recording: Recording, alice: Headers, world: World
) -> None:
    url = _url(client, recording, alice)
    for offset in range(0, SIZE, SIZE // 8):  # a player seeking about
        assert client.get(url, headers={"Range": f"bytes={offset}-"}).status_code == 206
    client.head(url)
    events = _events(session, "recording.playback")
    assert len(events) == 1
    event = events[0]
    assert event.actor_id == world.users["alice"].id
    assert event.subject == f"recording:{recording.id}"
    assert event.call_id == recording.call_id
    assert event.org_id == world.org.id
    _url(client, recording, alice)  # a second listening session
    assert len(_events(session, "recording.playback")) == 2


def test_refused_playback_is_not_audited(
    client: TestClient, session: Session, recording: Recording, as_user: Callable[..., Headers]
) -> None:
    r = client.post(f"/api/v1/recordings/{recording.id}/playback", headers=as_user("bob"))
    assert r.status_code == 404
    assert _events(session, "recording.playback") == []


# --- download -------------------------------------------------------------------------------


def test_download_is_an_attachment_named_after_date_and_parties(
    client: TestClient, session: Session, recording: Recording, alice: Headers
) -> None:
    r = client.get(f"/api/v1/recordings/{recording.id}/download", headers=alice)
    assert r.status_code == 200
    assert r.content == AUDIO
    assert r.headers["content-disposition"] == (
        'attachment; filename="2026-01-01_+441632960001_201.mp3"'
    )
    assert r.headers["content-type"] == "audio/mpeg"
    assert len(_events(session, "recording.download")) == 1


def test_download_names_with_unicode_get_filename_star(
    client: TestClient, session: Session, blobs: MemoryBlobStore, clock: FakeClock,
    world: World, alice: Headers,
) -> None:  # fmt: skip
    call = add_call(session, world.org.id, "uni", world.users["alice"],
                    from_number='Zoë "Z" <sip:zoe@example.com>', to_number="201")  # fmt: skip
    made = add_recording(session, blobs, clock, call)
    session.commit()
    r = client.get(f"/api/v1/recordings/{made.id}/download", headers=alice)
    disposition = r.headers["content-disposition"]
    ascii_part = disposition.split('filename="')[1].split('"')[0]
    assert all(c.isascii() and c not in '/\\"' for c in ascii_part)
    assert "filename*=UTF-8''2026-01-01_Zo%C3%AB" in disposition


def test_a_resumed_download_is_not_a_second_download(
    client: TestClient, session: Session, recording: Recording, alice: Headers
) -> None:
    url = f"/api/v1/recordings/{recording.id}/download"
    first = client.get(url, headers={**alice, "Range": "bytes=0-999"})
    rest = client.get(url, headers={**alice, "Range": "bytes=1000-"})
    assert first.content + rest.content == AUDIO
    client.head(url, headers=alice)
    assert len(_events(session, "recording.download")) == 1
    client.get(url, headers=alice)
    assert len(_events(session, "recording.download")) == 2


# --- peaks ----------------------------------------------------------------------------------


def test_peaks_are_the_stored_waveform_with_an_etag(
    client: TestClient, recording: Recording, alice: Headers
) -> None:
    url = f"/api/v1/recordings/{recording.id}/peaks"
    r = client.get(url, headers=alice)
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    assert body == PEAKS
    again = client.get(url, headers={**alice, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
