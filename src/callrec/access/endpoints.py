"""HTTP adapters for sign-in, the current user, and API tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from callrec.access.deps import CSRF_COOKIE, SESSION_COOKIE, ActorDep
from callrec.access.schemas import LoginRequest, TokenCreate, TokenIssued, TokenRead
from callrec.access.service import AuthService
from callrec.directory.endpoints import user_read
from callrec.directory.schemas import UserRead
from callrec.directory.service import UserService
from callrec.kit.deps import SessionDep
from callrec.kit.errors import RateLimited, Unauthenticated
from callrec.kit.settings import Settings

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=UserRead)
def login(
    data: LoginRequest, request: Request, response: Response, session: SessionDep
) -> UserRead:
    settings: Settings = request.app.state.settings
    client = request.client.host if request.client else "unknown"
    try:
        result = AuthService(session, request.app.state.clock).login(
            data.email,
            data.password,
            client,
            request.app.state.login_limiter,
            settings.session_ttl_hours,
        )
    except (Unauthenticated, RateLimited):
        # The edge keeps the refused attempt's audit event although the request fails.
        session.commit()
        raise
    cookie = {"max_age": result.max_age_s, "secure": settings.cookie_secure, "samesite": "lax"}
    response.set_cookie(SESSION_COOKIE, result.session_token, httponly=True, **cookie)  # type: ignore[arg-type]
    # Readable by the page's script, which echoes it in X-CSRF-Token on unsafe requests.
    response.set_cookie(CSRF_COOKIE, result.csrf_token, httponly=False, **cookie)  # type: ignore[arg-type]
    return user_read(UserService(session).get_self(result.user.org_id, result.user.id))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, session: SessionDep) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        AuthService(session, request.app.state.clock).logout(token)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


@router.get("/me", response_model=UserRead)
def me(actor: ActorDep, session: SessionDep) -> UserRead:
    return user_read(UserService(session).get_self(actor.org_id, actor.user_id))


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(actor: ActorDep, request: Request, session: SessionDep) -> list[TokenRead]:
    tokens = AuthService(session, request.app.state.clock).list_tokens(actor)
    return [TokenRead.model_validate(t) for t in tokens]


@router.post("/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
def issue_token(
    data: TokenCreate, actor: ActorDep, request: Request, session: SessionDep
) -> TokenIssued:
    issued = AuthService(session, request.app.state.clock).issue_token(actor, data.name)
    return TokenIssued.model_validate(
        {**TokenRead.model_validate(issued.token).model_dump(), "token": issued.secret}
    )


@router.delete("/tokens/{token_id}", response_model=TokenRead)
def revoke_token(
    token_id: uuid.UUID, actor: ActorDep, request: Request, session: SessionDep
) -> TokenRead:
    token = AuthService(session, request.app.state.clock).revoke_token(actor, token_id)
    return TokenRead.model_validate(token)
