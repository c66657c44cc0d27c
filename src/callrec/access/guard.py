"""Turns a rule's ``Permission`` into the domain error the API renders."""

from __future__ import annotations

from callrec.access.rules import Permission
from callrec.kit.errors import Forbidden


def require(permission: Permission) -> None:
    if permission is not True:
        raise Forbidden(permission)
