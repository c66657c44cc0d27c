"""The pure HTTP pieces of playback: RFC 9110 byte ranges and conditionals, signed URLs,
download names. The same cases run against the live endpoints in test_playback_api.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from callrec.access.rules import (
    Actor,
    CallFacts,
    ManagementScope,
    PlaybackScope,
    Role,
    can_play,
    can_see_decision_trace,
    can_view_call,
)
from callrec.recordings.playback import (
    PlaybackGrant,
    RangeKind,
    TokenError,
    content_disposition,
    download_filename,
    etag_for,
    http_date,
    if_range_holds,
    media_type,
    not_modified,
    parse_range,
    sign_playback,
    verify_playback,
)

SIZE = 10_000
P, W, U = RangeKind.PARTIAL, RangeKind.WHOLE, RangeKind.UNSATISFIABLE


@pytest.mark.parametrize(
    ("header", "kind", "start", "end"),
    [
        ("bytes=0-499", P, 0, 500),  # the first 500 bytes (RFC 9110 §14.1.2 example)
        ("bytes=500-999", P, 500, 1000),  # the second 500
        ("bytes=-500", P, 9500, 10_000),  # the final 500 (suffix)
        ("bytes=9500-", P, 9500, 10_000),  # open: from 9500 to the end
        ("bytes=0-0", P, 0, 1),  # the first byte only
        ("bytes=-1", P, 9999, 10_000),  # the last byte only
        ("bytes=0-", P, 0, 10_000),  # what a browser sends first
        ("bytes=9000-99999", P, 9000, 10_000),  # last-pos past the end is cut at the end
        ("bytes=-20000", P, 0, 10_000),  # a suffix longer than the body: all of it
        ("bytes=0-999999999999999999999999", P, 0, 10_000),  # huge numbers are fine
        ("BYTES=1-2", P, 1, 3),  # the unit is case-insensitive
        ("bytes= 1-2 ", P, 1, 3),  # optional whitespace around the spec
        ("bytes=1-2,", P, 1, 3),  # empty list elements are skipped
        ("bytes=10000-", U, 0, 0),  # starts at the end
        ("bytes=20000-30000", U, 0, 0),  # entirely past the end
        ("bytes=-0", U, 0, 0),  # a zero-length suffix selects nothing
        ("bytes=5-4", U, 0, 0),  # last-pos before first-pos: an invalid spec
        ("bytes=0-1,5-6", W, 0, 10_000),  # several ranges: ignored, 200 whole (documented)
        ("bytes=abc", W, 0, 10_000),  # not the grammar: ignored
        ("bytes=", W, 0, 10_000),
        ("bytes=-", W, 0, 10_000),
        ("bytes=1-2-3", W, 0, 10_000),
        ("bytes=+1-2", W, 0, 10_000),
        ("bytes 0-1", W, 0, 10_000),  # no '='
        ("items=0-1", W, 0, 10_000),  # another unit: must be ignored
        (None, W, 0, 10_000),
    ],
)
def test_range_header_against_rfc_9110(
    header: str | None, kind: RangeKind, start: int, end: int
) -> None:
    part = parse_range(header, SIZE)
    assert (part.kind, part.start, part.end) == (kind, start, end)


def test_content_range_values() -> None:
    assert parse_range("bytes=0-499", SIZE).content_range() == "bytes 0-499/10000"
    assert parse_range("bytes=-500", SIZE).content_range() == "bytes 9500-9999/10000"
    assert parse_range("bytes=10000-", SIZE).content_range() == "bytes */10000"
    assert parse_range(None, SIZE).content_range() is None


def test_every_range_of_an_empty_body_is_unsatisfiable() -> None:
    assert parse_range("bytes=0-", 0).kind is U
    assert parse_range("bytes=-5", 0).kind is U


MODIFIED = datetime(2026, 1, 1, 9, 30, 15, tzinfo=UTC)
TAG = etag_for("ab" * 32)


def test_if_none_match_uses_weak_comparison_and_star() -> None:
    assert not_modified(TAG, None, TAG, MODIFIED)
    assert not_modified(f"W/{TAG}", None, TAG, MODIFIED)
    assert not_modified(f'"other", {TAG}', None, TAG, MODIFIED)
    assert not_modified("*", None, TAG, MODIFIED)
    assert not not_modified('"other"', None, TAG, MODIFIED)


def test_if_modified_since_only_without_if_none_match() -> None:
    same, later = http_date(MODIFIED), http_date(MODIFIED + timedelta(hours=1))
    earlier = http_date(MODIFIED - timedelta(seconds=1))
    assert not_modified(None, same, TAG, MODIFIED)
    assert not_modified(None, later, TAG, MODIFIED)
    assert not not_modified(None, earlier, TAG, MODIFIED)
    assert not not_modified(None, "not a date", TAG, MODIFIED)
    # If-None-Match present and not matching: If-Modified-Since is not looked at (§13.2.2).
    assert not not_modified('"other"', later, TAG, MODIFIED)


def test_if_range_needs_a_strong_match_or_the_exact_date() -> None:
    assert if_range_holds(None, TAG, MODIFIED)
    assert if_range_holds(TAG, TAG, MODIFIED)
    assert not if_range_holds(f"W/{TAG}", TAG, MODIFIED)  # weak tags never match
    assert not if_range_holds('"stale"', TAG, MODIFIED)
    assert if_range_holds(http_date(MODIFIED), TAG, MODIFIED)
    assert not if_range_holds(http_date(MODIFIED + timedelta(seconds=1)), TAG, MODIFIED)
    assert not if_range_holds("garbage", TAG, MODIFIED)


def test_media_types() -> None:
    assert media_type("mp3") == "audio/mpeg"
    assert media_type("opus") == "audio/ogg"
    assert media_type(None) == "application/octet-stream"


# --- download names -------------------------------------------------------------------------

STARTED = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)


def test_download_name_is_date_from_to() -> None:
    assert download_filename(STARTED, "+441632960001", "201", "mp3") == (
        "2026-03-04_+441632960001_201.mp3"
    )
    assert download_filename(STARTED, "+441632960001", "201", "opus", 2) == (
        "2026-03-04_+441632960001_201_2.ogg"
    )


def test_download_name_drops_path_and_header_breaking_characters() -> None:
    name = download_filename(STARTED, '../../etc/"passwd"\r\n', "", "mp3")
    assert "/" not in name and '"' not in name and "\r" not in name and "\n" not in name
    assert name.endswith("_unknown.mp3")


def test_content_disposition_ascii_and_rfc_6266_filename_star() -> None:
    plain = content_disposition("2026-03-04_+441632960001_201.mp3")
    assert plain == 'attachment; filename="2026-03-04_+441632960001_201.mp3"'
    name = download_filename(STARTED, "Zoë Müller", "sip:bob@example.com", "mp3")
    assert name == "2026-03-04_Zoë_Müller_sip_bob@example.com.mp3"
    assert content_disposition(name) == (
        'attachment; filename="2026-03-04_Zo__M_ller_sip_bob_example.com.mp3"; '
        "filename*=UTF-8''2026-03-04_Zo%C3%AB_M%C3%BCller_sip_bob%40example.com.mp3"
    )


# --- signed URLs ----------------------------------------------------------------------------

SECRET = "test-secret"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
RID, UID = uuid.uuid4(), uuid.uuid4()


def _token(expires: datetime = NOW + timedelta(minutes=10)) -> str:
    return sign_playback(PlaybackGrant(RID, UID, expires), SECRET)


def test_a_token_round_trips_until_it_expires() -> None:
    grant = verify_playback(_token(), SECRET, RID, NOW)
    assert (grant.recording_id, grant.user_id) == (RID, UID)
    assert grant.expires_at == NOW + timedelta(minutes=10)
    verify_playback(_token(), SECRET, RID, NOW + timedelta(minutes=9, seconds=59))
    with pytest.raises(TokenError, match="expired"):
        verify_playback(_token(), SECRET, RID, NOW + timedelta(minutes=10))


def test_a_token_is_refused_for_another_recording_or_key() -> None:
    with pytest.raises(TokenError, match="another recording"):
        verify_playback(_token(), SECRET, uuid.uuid4(), NOW)
    with pytest.raises(TokenError, match="signature"):
        verify_playback(_token(), "another-secret", RID, NOW)


def test_every_single_character_change_is_refused() -> None:
    token = _token()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i in range(len(token)):
        replacement = alphabet[(alphabet.index(token[i]) + 1) % len(alphabet)]
        tampered = token[:i] + replacement + token[i + 1 :]
        with pytest.raises(TokenError):
            verify_playback(tampered, SECRET, RID, NOW)


@pytest.mark.parametrize("junk", ["", "x", "!!!!", "a" * 199, _token()[:-1], _token() + "AA"])
def test_malformed_tokens_are_refused(junk: str) -> None:
    with pytest.raises(TokenError):
        verify_playback(junk, SECRET, RID, NOW)


# --- who sees a call (pure rules) ------------------------------------------------------------

ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4()
SALES = uuid.uuid4()


def _actor(scope: PlaybackScope, role: Role = Role.USER, org: uuid.UUID = ORG) -> Actor:
    return Actor(user_id=UID, org_id=org, role=role, management_scope=ManagementScope.ME,
                 playback_scope=scope, primary_team_id=SALES)  # fmt: skip


def _call(people: frozenset[uuid.UUID] = frozenset(), teams: frozenset[uuid.UUID] = frozenset(),
          org: uuid.UUID = ORG) -> CallFacts:  # fmt: skip
    return CallFacts(org_id=org, participant_user_ids=people, team_ids=teams)


def test_ones_own_call_is_visible_without_playback_permission_but_does_not_play() -> None:
    mine = _call(frozenset({UID}))
    assert can_view_call(_actor(PlaybackScope.NONE), mine) is True
    assert can_play(_actor(PlaybackScope.NONE), mine) is not True


def test_org_admins_see_every_call_of_their_org_and_play_by_scope() -> None:
    someone_elses = _call(frozenset({uuid.uuid4()}))
    admin = _actor(PlaybackScope.OWN, Role.ORG_ADMIN)
    assert can_view_call(admin, someone_elses) is True
    assert can_play(admin, someone_elses) is not True
    assert can_view_call(admin, _call(org=OTHER_ORG)) == "this call is not in your organisation"


def test_others_see_exactly_the_calls_they_may_play() -> None:
    tagged, untagged = _call(teams=frozenset({SALES})), _call(teams=frozenset({uuid.uuid4()}))
    for scope in PlaybackScope:
        viewer = _actor(scope)
        for call in (tagged, untagged):
            assert (can_view_call(viewer, call) is True) == (can_play(viewer, call) is True)
    assert can_view_call(_actor(PlaybackScope.PRIMARY_GROUP), tagged) is True
    assert can_view_call(_actor(PlaybackScope.ALL, org=OTHER_ORG), tagged) is not True


def test_only_org_admins_see_the_decision_trace() -> None:
    assert can_see_decision_trace(_actor(PlaybackScope.ALL, Role.ORG_ADMIN), ORG) is True
    for role in (Role.SUPERVISOR, Role.USER):
        assert can_see_decision_trace(_actor(PlaybackScope.ALL, role), ORG) is not True
    assert can_see_decision_trace(_actor(PlaybackScope.ALL, Role.ORG_ADMIN), OTHER_ORG) is not True
