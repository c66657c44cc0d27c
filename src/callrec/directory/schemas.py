"""API shapes for the directory. Payload-shape problems are 422; business rules are checked in
the services."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from callrec.access.rules import ManagementScope, PlaybackScope, Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9*#+]{1,32}$")]
Aor = Annotated[str, StringConstraints(pattern=r"^sips?:[^\s@]+@[^\s@]+$", max_length=320)]
SipUser = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._~+-]{1,128}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrgCreate(Strict):
    name: Name
    slug: Slug
    licences_purchased: int = Field(default=0, ge=0, le=1_000_000)


class OrgUpdate(Strict):
    name: Name | None = None
    licences_purchased: int | None = Field(default=None, ge=0, le=1_000_000)


class OrgRead(Read):
    id: uuid.UUID
    name: str
    slug: str
    licences_purchased: int
    licences_assigned: int = 0
    created_at: datetime


class TeamCreate(Strict):
    name: Name


class TeamUpdate(Strict):
    name: Name | None = None


class TeamRead(Read):
    id: uuid.UUID
    name: str
    created_at: datetime


class UserCreate(Strict):
    email: EmailStr
    display_name: Name
    extension: Extension | None = None
    password: Password | None = None
    role: Role = Role.USER
    has_licence: bool = False
    primary_team_id: uuid.UUID | None = None
    member_team_ids: list[uuid.UUID] = Field(default_factory=list)
    management_scope: ManagementScope = ManagementScope.ME
    managed_team_ids: list[uuid.UUID] = Field(default_factory=list)
    playback_scope: PlaybackScope = PlaybackScope.OWN


class UserUpdate(Strict):
    display_name: Name | None = None
    extension: Extension | None = None
    password: Password | None = None
    role: Role | None = None
    is_active: bool | None = None
    has_licence: bool | None = None
    primary_team_id: uuid.UUID | None = None
    member_team_ids: list[uuid.UUID] | None = None
    management_scope: ManagementScope | None = None
    managed_team_ids: list[uuid.UUID] | None = None
    playback_scope: PlaybackScope | None = None


class UserRead(Read):
    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    display_name: str
    extension: str | None
    role: Role
    is_platform_admin: bool
    is_active: bool
    has_licence: bool
    primary_team_id: uuid.UUID | None
    member_team_ids: list[uuid.UUID]
    management_scope: ManagementScope
    managed_team_ids: list[uuid.UUID]
    playback_scope: PlaybackScope
    created_at: datetime


class DeviceCreate(Strict):
    user_id: uuid.UUID
    name: Name
    sip_username: SipUser
    aor: Aor
    extension: Extension | None = None


class DeviceUpdate(Strict):
    user_id: uuid.UUID | None = None
    name: Name | None = None
    sip_username: SipUser | None = None
    aor: Aor | None = None
    extension: Extension | None = None


class DeviceRead(Read):
    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    sip_username: str
    aor: str
    extension: str | None
    created_at: datetime
