"""FastAPI dependencies turning a request's credentials into an Actor.

Browsers authenticate with the session cookie and must echo the CSRF token (double submit,
checked against the server-side session) on unsafe methods; integrations send a bearer token,
which a browser never attaches on its own, so it needs no CSRF check.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from callrec.access.rules import Actor
from callrec.access.service import AuthService
from callrec.audit.service import bind_origin
from callrec.kit.deps import SessionDep
from callrec.kit.errors import Forbidden, Unauthenticated

SESSION_COOKIE = "callrec_session"
CSRF_COOKIE = "callrec_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_actor(request: Request, session: SessionDep) -> Actor:
    bind_origin(session, request.app.state.clock, request.client.host if request.client else None)
    service = AuthService(session, request.app.state.clock)
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer" and credential:
        return service.from_bearer(credential.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer …'")
    actor, auth = service.from_session(cookie)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), auth.csrf_token.encode()):
            raise Forbidden("CSRF token missing or wrong: send the X-CSRF-Token header")
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]
