"""Queries for credentials and for the facts an Actor is built from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from callrec.models import ApiToken, AuthSession, User, team_managers, team_members


class CredentialRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def user_by_email(self, email: str) -> User | None:
        return self.session.scalars(
            select(User).where(func.lower(User.email) == email.lower())
        ).first()

    def live_session(self, token_hash: str, now: datetime) -> AuthSession | None:
        return self.session.scalars(
            select(AuthSession).where(
                AuthSession.token_hash == token_hash,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
        ).first()

    def live_token(self, token_hash: str) -> tuple[ApiToken, User] | None:
        """The token and its user in one round trip (this runs on every API request)."""
        row = self.session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        ).first()
        return None if row is None else (row[0], row[1])

    def live_session_user(self, token_hash: str, now: datetime) -> tuple[AuthSession, User] | None:
        row = self.session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(
                AuthSession.token_hash == token_hash,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
        ).first()
        return None if row is None else (row[0], row[1])

    def tokens_of_org(self, org_id: uuid.UUID) -> Sequence[ApiToken]:
        return self.session.scalars(
            select(ApiToken).where(ApiToken.org_id == org_id).order_by(ApiToken.id)
        ).all()

    def token_in_org(self, org_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken | None:
        return self.session.scalars(
            select(ApiToken).where(ApiToken.org_id == org_id, ApiToken.id == token_id)
        ).first()

    def add(self, obj: AuthSession | ApiToken) -> None:
        self.session.add(obj)
        self.session.flush()


def team_ids_of(
    session: Session, user_id: uuid.UUID
) -> tuple[frozenset[uuid.UUID], frozenset[uuid.UUID]]:
    """(member team ids, managed team ids) of one user, in one round trip."""
    members_q = select(team_members.c.team_id, literal(False).label("managed")).where(
        team_members.c.user_id == user_id
    )
    managed_q = select(team_managers.c.team_id, literal(True).label("managed")).where(
        team_managers.c.user_id == user_id
    )
    members: set[uuid.UUID] = set()
    managed: set[uuid.UUID] = set()
    for team_id, is_managed in session.execute(union_all(members_q, managed_q)):
        (managed if is_managed else members).add(team_id)
    return frozenset(members), frozenset(managed)
