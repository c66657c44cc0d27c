"""Authentication: password login into a server-side session, and API tokens.

Secrets (session cookie, API token) are shown once and stored as SHA-256 hashes. Never commits.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from callrec.access.passwords import verify_password
from callrec.access.ratelimit import LoginLimiter
from callrec.access.repository import CredentialRepository, team_ids_of
from callrec.access.rules import Actor, Role
from callrec.audit.service import AuditAction, AuditLog
from callrec.kit.clock import Clock
from callrec.kit.errors import Forbidden, NotFound, RateLimited, Unauthenticated
from callrec.kit.ids import hash_secret, new_secret
from callrec.models import ApiToken, AuthSession, User

TOKEN_PREFIX = "crt"
_TOKEN_TOUCH_S = 60  # write last_used_at at most this often: one UPDATE per request is waste


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User
    session_token: str
    csrf_token: str
    max_age_s: int


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret: str


def build_actor(session: Session, user: User) -> Actor:
    members, managed = team_ids_of(session, user.id)
    return Actor(
        user_id=user.id,
        org_id=user.org_id,
        role=user.role,
        management_scope=user.management_scope,
        managed_team_ids=managed,
        playback_scope=user.playback_scope,
        primary_team_id=user.primary_team_id,
        member_team_ids=members,
        is_platform_admin=user.is_platform_admin,
    )


class AuthService:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.repo = CredentialRepository(session)

    def login(
        self, email: str, password: str, client: str, limiter: LoginLimiter, ttl_hours: int
    ) -> LoginResult:
        key = f"{email.lower()}|{client}"
        wait = limiter.retry_after(key)
        if wait is not None:
            self._login_failed(email, client, None, "rate_limited")
            raise RateLimited(
                "too many failed logins; try again later",
                details={"retry_after_s": int(wait) + 1},
            )
        user = self.repo.user_by_email(email)
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active:
            limiter.fail(key)
            self._login_failed(email, client, user, _refusal(user, ok))
            raise Unauthenticated("wrong email or password")
        limiter.clear(key)
        AuditLog(self.session, self.clock).append(
            AuditAction.LOGIN,
            org_id=user.org_id,
            actor_id=user.id,
            subject=f"user:{user.id}",
            details={"email": user.email, "method": "password"},
            client=client,
        )
        token = new_secret("crs")
        csrf = secrets.token_urlsafe(24)
        ttl = timedelta(hours=ttl_hours)
        self.repo.add(
            AuthSession(
                user_id=user.id,
                token_hash=hash_secret(token),
                csrf_token=csrf,
                expires_at=self.clock.now() + ttl,
            )
        )
        return LoginResult(user, token, csrf, int(ttl.total_seconds()))

    def _login_failed(self, email: str, client: str, user: User | None, reason: str) -> None:
        # No org: an unauthenticated request must not write into a tenant's log (anyone could
        # flood it); platform admins see these, with the account they aimed at.
        AuditLog(self.session, self.clock).append(
            AuditAction.LOGIN_FAILED,
            org_id=None,
            actor_id=None,
            subject=None if user is None else f"user:{user.id}",
            details={"email": email, "reason": reason},
            client=client,
        )

    def logout(self, session_token: str) -> None:
        auth = self.repo.live_session(hash_secret(session_token), self.clock.now())
        if auth is not None:
            auth.revoked_at = self.clock.now()

    def from_session(self, session_token: str) -> tuple[Actor, AuthSession]:
        found = self.repo.live_session_user(hash_secret(session_token), self.clock.now())
        if found is None:
            raise Unauthenticated("session expired or signed out")
        auth, user = found
        return build_actor(self.session, _active(user)), auth

    def from_bearer(self, secret: str) -> Actor:
        found = self.repo.live_token(hash_secret(secret))
        if found is None:
            raise Unauthenticated("unknown or revoked API token")
        token, user = found
        now = self.clock.now()
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > _TOKEN_TOUCH_S
        ):
            token.last_used_at = now
        return build_actor(self.session, _active(user))

    def issue_token(self, actor: Actor, name: str) -> IssuedToken:
        secret = new_secret(TOKEN_PREFIX)
        token = ApiToken(
            org_id=actor.org_id,
            user_id=actor.user_id,
            name=name,
            token_hash=hash_secret(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 7],
        )
        self.repo.add(token)
        AuditLog.of(self.session).append(
            AuditAction.TOKEN_ISSUED,
            org_id=actor.org_id,
            actor_id=actor.user_id,
            subject=f"token:{token.id}",
            details={"name": name, "prefix": token.prefix, "user_id": actor.user_id},
        )
        return IssuedToken(token, secret)

    def list_tokens(self, actor: Actor) -> Sequence[ApiToken]:
        tokens = self.repo.tokens_of_org(actor.org_id)
        if actor.role is Role.ORG_ADMIN:
            return tokens
        return [t for t in tokens if t.user_id == actor.user_id]

    def revoke_token(self, actor: Actor, token_id: uuid.UUID) -> ApiToken:
        token = self.repo.token_in_org(actor.org_id, token_id)
        if token is None:
            raise NotFound(f"token {token_id} not found", details={"id": str(token_id)})
        if token.user_id != actor.user_id and actor.role is not Role.ORG_ADMIN:
            raise Forbidden("only an org admin may revoke another user's token")
        if token.revoked_at is None:
            token.revoked_at = self.clock.now()
            self.session.flush()
            AuditLog.of(self.session).append(
                AuditAction.TOKEN_REVOKED,
                org_id=actor.org_id,
                actor_id=actor.user_id,
                subject=f"token:{token.id}",
                details={"name": token.name, "prefix": token.prefix, "user_id": token.user_id},
            )
        return token


def _refusal(user: User | None, password_ok: bool) -> str:
    if user is None:
        return "unknown_email"
    return "wrong_password" if not password_ok else "account_disabled"


def _active(user: User) -> User:
    if not user.is_active:
        raise Unauthenticated("account disabled")
    return user
