"""Who may listen to or download which recording, and the audit of each listening session.

Never commits (the request edge does). Denials follow one rule for every recording endpoint:
404 when the viewer cannot see the call at all (another org, or a call outside their scope
that they took no part in), 403 with the reason when they can see the call but may not play it
(e.g. their own call without playback permission).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from callrec.access.guard import require
from callrec.access.rules import Actor, CallFacts, can_play, can_view_call
from callrec.audit.service import AuditAction, AuditLog
from callrec.kit.clock import Clock
from callrec.kit.errors import Conflict, Forbidden, NotFound, Unauthenticated
from callrec.models import Call, Participant, Recording, RecordingState, Segment, User
from callrec.models.calls import call_teams
from callrec.models.directory import team_members
from callrec.recordings.playback import (
    PlaybackGrant,
    TokenError,
    sign_playback,
    verify_playback,
)

# Long enough to start listening and seek about; short enough that a leaked URL soon dies.
PLAYBACK_URL_TTL = timedelta(minutes=10)


def call_facts(session: Session, call: Call) -> CallFacts:
    """The playback rules' view of a call, in one round trip over three indexed lookups.

    Segment users are participants already (``CallService`` adds them); they are read too so
    a call stored by other means cannot hide someone who took part.
    """
    people = literal("u")
    rows = session.execute(
        union_all(
            select(people, Participant.user_id).where(Participant.call_id == call.id),
            select(people, Segment.user_id).where(Segment.call_id == call.id),
            select(literal("t"), call_teams.c.team_id).where(call_teams.c.call_id == call.id),
        )
    ).all()
    users = frozenset(ref for kind, ref in rows if kind == "u" and ref is not None)
    teams = frozenset(ref for kind, ref in rows if kind == "t")
    return CallFacts(org_id=call.org_id, participant_user_ids=users, team_ids=teams)


def authorize_play(actor: Actor, facts: CallFacts) -> None:
    """NotFound if the call is invisible to the actor, Forbidden if visible but not playable."""
    if can_view_call(actor, facts) is not True:
        raise NotFound("recording not found")
    require(can_play(actor, facts))


@dataclass(frozen=True, slots=True)
class Servable:
    """What serving a recording's bytes needs (ETag from the hash, Last-Modified)."""

    id: uuid.UUID
    storage_key: str
    size_bytes: int | None
    sha256: str | None
    format: str | None
    modified: datetime

    @classmethod
    def of(cls, recording: Recording) -> Servable:
        assert recording.storage_key is not None
        return cls(
            recording.id, recording.storage_key, recording.size_bytes, recording.sha256,
            recording.format, recording.ready_at or recording.created_at,
        )  # fmt: skip


# A signed URL's recording with its user, same org (one row), then the call's people and team
# tags and the user's team memberships (one UNION). Built once: only parameters change.
_STREAM_ROW = (
    select(
        Recording.org_id,
        Recording.call_id,
        Recording.state,
        Recording.storage_key,
        Recording.size_bytes,
        Recording.sha256,
        Recording.format,
        Recording.ready_at,
        Recording.created_at,
        User.is_active,
        User.role,
        User.management_scope,
        User.playback_scope,
        User.primary_team_id,
    )
    .join(User, User.org_id == Recording.org_id)
    .where(Recording.id == bindparam("rid"), User.id == bindparam("uid"))
)
_STREAM_SETS = union_all(
    select(literal("u"), Participant.user_id).where(Participant.call_id == bindparam("call")),
    select(literal("u"), Segment.user_id).where(Segment.call_id == bindparam("call")),
    select(literal("t"), call_teams.c.team_id).where(call_teams.c.call_id == bindparam("call")),
    select(literal("m"), team_members.c.team_id).where(team_members.c.user_id == bindparam("uid")),
)


@dataclass(frozen=True, slots=True)
class Playable:
    recording: Recording
    call: Call
    sequence: int  # the segment's, for the download file name


@dataclass(frozen=True, slots=True)
class IssuedUrl:
    token: str
    grant: PlaybackGrant


class PlaybackService:
    def __init__(self, session: Session, clock: Clock, secret_key: str) -> None:
        self.session = session
        self.clock = clock
        self.secret_key = secret_key

    # --- loading ------------------------------------------------------------------------

    def _load(self, org_id: uuid.UUID, recording_id: uuid.UUID) -> tuple[Recording, Call]:
        row = self.session.execute(
            select(Recording, Call)
            .join(Call, Call.id == Recording.call_id)
            .where(Recording.id == recording_id, Recording.org_id == org_id)
        ).first()
        if row is None:
            raise NotFound(f"recording {recording_id} not found", details={"id": str(recording_id)})
        return row[0], row[1]

    def _sequence(self, recording: Recording) -> int:
        return int(
            self.session.scalar(select(Segment.sequence).where(Segment.id == recording.segment_id))
            or 1
        )

    def playable(self, actor: Actor, recording_id: uuid.UUID, *, ready: bool = True) -> Playable:
        recording, call = self._load(actor.org_id, recording_id)
        authorize_play(actor, call_facts(self.session, call))
        if ready:
            _require_ready(recording)
        return Playable(recording, call, self._sequence(recording))

    # --- listening: signed URLs ---------------------------------------------------------

    def issue_url(self, actor: Actor, recording_id: uuid.UUID, client: str | None) -> IssuedUrl:
        """A listening session begins: one audit event, one short-lived URL for the player."""
        found = self.playable(actor, recording_id)
        now = self.clock.now().replace(microsecond=0)
        grant = PlaybackGrant(found.recording.id, actor.user_id, now + PLAYBACK_URL_TTL)
        AuditLog(self.session, self.clock).append(
            AuditAction.PLAYBACK,
            org_id=actor.org_id,
            actor_id=actor.user_id,
            subject=f"recording:{found.recording.id}",
            call_id=found.call.id,
            details={"expires_at": grant.expires_at.isoformat(), "format": found.recording.format},
            client=client,
        )
        return IssuedUrl(sign_playback(grant, self.secret_key), grant)

    def for_token(
        self, token: str, recording_id: uuid.UUID, presented_user_id: uuid.UUID | None
    ) -> Servable:
        """What a signed URL plays. The token's user must still be allowed now (a narrowed
        scope stops the next Range request), and credentials sent along with the URL must be
        the same user's. Every Range request of every player comes here, so it is two
        prepared statements, no ORM loading."""
        try:
            grant = verify_playback(token, self.secret_key, recording_id, self.clock.now())
        except TokenError as exc:
            raise Unauthenticated(str(exc)) from None
        if presented_user_id is not None and presented_user_id != grant.user_id:
            raise Forbidden("this playback URL was issued to another user")
        row = self.session.execute(_STREAM_ROW, {"rid": recording_id, "uid": grant.user_id}).first()
        if row is None or not row.is_active:
            raise self._why_not_streamable(grant, recording_id)
        sets = self.session.execute(_STREAM_SETS, {"call": row.call_id, "uid": grant.user_id})
        found: dict[str, set[uuid.UUID]] = {"u": set(), "t": set(), "m": set()}
        for kind, ref in sets:
            if ref is not None:
                found[kind].add(ref)
        # The fields of build_actor that the playback rules read; managed teams play no part.
        actor = Actor(
            user_id=grant.user_id,
            org_id=row.org_id,
            role=row.role,
            management_scope=row.management_scope,
            playback_scope=row.playback_scope,
            primary_team_id=row.primary_team_id,
            member_team_ids=frozenset(found["m"]),
        )
        facts = CallFacts(row.org_id, frozenset(found["u"]), frozenset(found["t"]))
        authorize_play(actor, facts)
        if row.state is not RecordingState.READY or row.storage_key is None:
            raise _not_ready(row.state)
        return Servable(
            recording_id, row.storage_key, row.size_bytes, row.sha256, row.format,
            row.ready_at or row.created_at,
        )  # fmt: skip

    def _why_not_streamable(self, grant: PlaybackGrant, recording_id: uuid.UUID) -> Exception:
        user = self.session.get(User, grant.user_id)
        if user is None or not user.is_active:
            return Forbidden("the user this playback URL was issued to can no longer play")
        return NotFound(f"recording {recording_id} not found", details={"id": str(recording_id)})

    # --- download -----------------------------------------------------------------------

    def audit_download(self, actor: Actor, found: Playable, client: str | None) -> None:
        AuditLog(self.session, self.clock).append(
            AuditAction.DOWNLOAD,
            org_id=actor.org_id,
            actor_id=actor.user_id,
            subject=f"recording:{found.recording.id}",
            call_id=found.call.id,
            details={"format": found.recording.format, "size_bytes": found.recording.size_bytes},
            client=client,
        )


def _require_ready(recording: Recording) -> None:
    if recording.state is not RecordingState.READY or recording.storage_key is None:
        raise _not_ready(recording.state)


def _not_ready(state: RecordingState) -> Conflict:
    return Conflict(
        f"the recording is {state}, not ready to play yet", details={"state": str(state)}
    )
