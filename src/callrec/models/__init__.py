"""Every table, imported here so Alembic's autogenerate and ``alembic check`` see them all."""

from callrec.models.auth import ApiToken, AuthSession
from callrec.models.base import Base
from callrec.models.directory import Device, Org, Team, User, team_managers, team_members

__all__ = [
    "ApiToken",
    "AuthSession",
    "Base",
    "Device",
    "Org",
    "Team",
    "User",
    "team_managers",
    "team_members",
]
