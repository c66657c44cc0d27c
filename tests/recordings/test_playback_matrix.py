"""The permission matrix, generated from the rule table below: every recording-bearing endpoint,
every playback scope x every relation between viewer and call → allowed or denied, with the
exact status a denial gets.

The rule table is the brief's, written once: a scope lists the relations it may play. "Own
calls" includes conferences one took part in (the whole recording, before joining and after
leaving), every scope but NONE includes them, and NONE plays nothing at all.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callrec.access.rules import PlaybackScope
from callrec.kit.clock import FakeClock
from callrec.kit.settings import Settings
from callrec.models import Recording
from callrec.recordings.playback import PlaybackGrant, sign_playback
from callrec.storage import MemoryBlobStore
from tests.directory.factories import World, bearer
from tests.recordings.playback_world import PEAKS, Relation, build_matrix, mp3_bytes

R = Relation
PLAYS: dict[PlaybackScope, frozenset[Relation]] = {
    PlaybackScope.NONE: frozenset(),
    PlaybackScope.OWN: frozenset({R.OWN, R.CONFERENCE}),
    PlaybackScope.PRIMARY_GROUP: frozenset({R.OWN, R.CONFERENCE, R.PRIMARY}),
    PlaybackScope.MEMBER_GROUPS: frozenset({R.OWN, R.CONFERENCE, R.PRIMARY, R.MEMBER}),
    PlaybackScope.ALL: frozenset({R.OWN, R.CONFERENCE, R.PRIMARY, R.MEMBER, R.OTHER_TEAM}),
}
# Calls one took part in stay visible without playback permission (their session view shows no
# recordings; recording endpoints answer 403 with the reason); any other refused call is 404.
TOOK_PART = frozenset({R.OWN, R.CONFERENCE})


@dataclass(frozen=True)
class Case:
    client: TestClient
    headers: dict[str, str]
    recording: Recording
    settings: Settings
    clock: FakeClock
    viewer_id: uuid.UUID


def _session_view(case: Case) -> tuple[int, bool]:
    r = case.client.get(f"/api/v1/calls/{case.recording.call_id}/session", headers=case.headers)
    if r.status_code != 200:
        return r.status_code, False
    body = r.json()
    played = "recordings" in body
    if played:
        assert [x["id"] for x in body["recordings"]] == [str(case.recording.id)]
        assert body["recordings"][0]["consent_evidence"] is not None
    return 200, played


def _playback_url(case: Case) -> tuple[int, bool]:
    r = case.client.post(f"/api/v1/recordings/{case.recording.id}/playback", headers=case.headers)
    if r.status_code == 200:
        stream = case.client.get(r.json()["url"], headers={"Range": "bytes=0-99"})
        assert stream.status_code == 206 and stream.content == mp3_bytes()[:100]
    return r.status_code, r.status_code == 200


def _stream(case: Case) -> tuple[int, bool]:
    # A valid signature for this viewer: the stream itself must still refuse what they may not
    # play (a URL issued before a scope was narrowed, or minted with the key).
    grant = PlaybackGrant(
        case.recording.id, case.viewer_id, case.clock.now() + timedelta(minutes=10)
    )
    token = sign_playback(grant, case.settings.secret_key)
    r = case.client.get(
        f"/api/v1/recordings/{case.recording.id}/stream?token={token}",
        headers={"Range": "bytes=-100"},
    )
    if r.status_code == 206:
        assert r.content == mp3_bytes()[-100:]
    return r.status_code, r.status_code == 206


def _download(case: Case) -> tuple[int, bool]:
    r = case.client.get(f"/api/v1/recordings/{case.recording.id}/download", headers=case.headers)
    if r.status_code == 200:
        assert r.content == mp3_bytes()
        assert r.headers["content-disposition"].startswith("attachment;")
    return r.status_code, r.status_code == 200


def _peaks(case: Case) -> tuple[int, bool]:
    r = case.client.get(f"/api/v1/recordings/{case.recording.id}/peaks", headers=case.headers)
    if r.status_code == 200:
        assert r.json() == PEAKS
    return r.status_code, r.status_code == 200


def _recording(case: Case) -> tuple[int, bool]:
    r = case.client.get(f"/api/v1/recordings/{case.recording.id}", headers=case.headers)
    return r.status_code, r.status_code == 200


def _denied_status(endpoint: str, relation: Relation) -> int:
    if endpoint == "session_view":
        return 200 if relation in TOOK_PART else 404
    return 403 if relation in TOOK_PART else 404


ENDPOINTS: dict[str, Callable[[Case], tuple[int, bool]]] = {
    "session_view": _session_view,
    "playback_url": _playback_url,
    "stream": _stream,
    "download": _download,
    "peaks": _peaks,
    "recording": _recording,
}


def expected(scope: PlaybackScope) -> dict[tuple[str, Relation], str]:
    """The rule table, spelled out cell by cell: "played" or the status of the refusal."""
    return {
        (endpoint, relation): "played"
        if relation in PLAYS[scope]
        else f"denied {_denied_status(endpoint, relation)}"
        for endpoint, relation in itertools.product(ENDPOINTS, Relation)
    }


def test_the_rule_table_is_the_brief() -> None:
    # Wider scopes only ever add relations; nobody but ALL plays another team's call; no scope
    # plays another org's.
    order = list(PLAYS)
    for narrow, wide in itertools.pairwise(order):
        assert PLAYS[narrow] <= PLAYS[wide]
    assert all(R.OTHER_ORG not in plays for plays in PLAYS.values())
    assert all(PLAYS[s] >= TOOK_PART for s in PlaybackScope if s is not PlaybackScope.NONE)
    assert PLAYS[PlaybackScope.ALL] == frozenset(Relation) - {R.OTHER_ORG}


@pytest.mark.parametrize("scope", list(PlaybackScope))
def test_permission_matrix(
    scope: PlaybackScope,
    client: TestClient,
    session: Session,
    blobs: MemoryBlobStore,
    clock: FakeClock,
    settings: Settings,
    world: World,
    other_world: World,
) -> None:
    """One scope's row of the matrix: every endpoint x every relation, compared whole, so a
    failure shows every wrong cell at once."""
    matrix = build_matrix(session, blobs, clock, world, other_world, scope)
    headers = bearer(session, clock, matrix.viewer)
    session.commit()
    observed: dict[tuple[str, Relation], str] = {}
    for (endpoint, check), relation in itertools.product(ENDPOINTS.items(), Relation):
        case = Case(client, headers, matrix.recordings[relation], settings, clock, matrix.viewer.id)
        status, played = check(case)
        observed[(endpoint, relation)] = "played" if played else f"denied {status}"
    assert observed == expected(scope)
