"""FastAPI dependencies shared by every context: the request's database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from callrec.kit.db import session_scope


def get_session(request: Request) -> Iterator[Session]:
    """The request edge owns the transaction: commit after the endpoint returns, roll back if it
    raised. ``scope="function"`` closes it before the response is sent, so a failed commit
    becomes an error response instead of a silent loss."""
    with session_scope(request.app.state.sessionmaker) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
