"""HTTP adapters for the directory: parse, call one service, format."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from callrec.access.deps import ActorDep
from callrec.directory import schemas as s
from callrec.directory.service import DeviceService, OrgService, TeamService, UserService
from callrec.kit.deps import SessionDep
from callrec.models import Org, User

router = APIRouter(tags=["directory"])


def user_read(user: User) -> s.UserRead:
    return s.UserRead.model_validate(
        {
            **{f: getattr(user, f) for f in s.UserRead.model_fields if hasattr(user, f)},
            "member_team_ids": sorted(t.id for t in user.member_teams),
            "managed_team_ids": sorted(t.id for t in user.managed_teams),
        }
    )


def org_read(service: OrgService, org: Org) -> s.OrgRead:
    read = s.OrgRead.model_validate(org)
    read.licences_assigned = service.licences_assigned(org.id)
    return read


# --- orgs -----------------------------------------------------------------------------------


@router.get("/orgs", response_model=list[s.OrgRead])
def list_orgs(actor: ActorDep, session: SessionDep) -> list[s.OrgRead]:
    service = OrgService(session)
    return [org_read(service, o) for o in service.list(actor)]


@router.post("/orgs", response_model=s.OrgRead, status_code=status.HTTP_201_CREATED)
def create_org(data: s.OrgCreate, actor: ActorDep, session: SessionDep) -> s.OrgRead:
    service = OrgService(session)
    return org_read(service, service.create(actor, data))


@router.get("/org", response_model=s.OrgRead)
def get_own_org(actor: ActorDep, session: SessionDep) -> s.OrgRead:
    service = OrgService(session)
    return org_read(service, service.get(actor, actor.org_id))


@router.get("/orgs/{org_id}", response_model=s.OrgRead)
def get_org(org_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> s.OrgRead:
    service = OrgService(session)
    return org_read(service, service.get(actor, org_id))


@router.patch("/orgs/{org_id}", response_model=s.OrgRead)
def update_org(
    org_id: uuid.UUID, data: s.OrgUpdate, actor: ActorDep, session: SessionDep
) -> s.OrgRead:
    service = OrgService(session)
    return org_read(service, service.update(actor, org_id, data))


# --- teams ----------------------------------------------------------------------------------


@router.get("/teams", response_model=list[s.TeamRead])
def list_teams(actor: ActorDep, session: SessionDep) -> list[s.TeamRead]:
    return [s.TeamRead.model_validate(t) for t in TeamService(session).list(actor)]


@router.post("/teams", response_model=s.TeamRead, status_code=status.HTTP_201_CREATED)
def create_team(data: s.TeamCreate, actor: ActorDep, session: SessionDep) -> s.TeamRead:
    return s.TeamRead.model_validate(TeamService(session).create(actor, actor.org_id, data))


@router.get("/teams/{team_id}", response_model=s.TeamRead)
def get_team(team_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> s.TeamRead:
    return s.TeamRead.model_validate(TeamService(session).get(actor, team_id))


@router.patch("/teams/{team_id}", response_model=s.TeamRead)
def update_team(
    team_id: uuid.UUID, data: s.TeamUpdate, actor: ActorDep, session: SessionDep
) -> s.TeamRead:
    return s.TeamRead.model_validate(TeamService(session).update(actor, team_id, data))


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_team(team_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> None:
    TeamService(session).delete(actor, team_id)


# --- users ----------------------------------------------------------------------------------


@router.get("/users", response_model=list[s.UserRead])
def list_users(actor: ActorDep, session: SessionDep) -> list[s.UserRead]:
    return [user_read(u) for u in UserService(session).list(actor)]


@router.post("/users", response_model=s.UserRead, status_code=status.HTTP_201_CREATED)
def create_user(data: s.UserCreate, actor: ActorDep, session: SessionDep) -> s.UserRead:
    return user_read(UserService(session).create(actor, actor.org_id, data))


@router.get("/users/{user_id}", response_model=s.UserRead)
def get_user(user_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> s.UserRead:
    return user_read(UserService(session).get(actor, user_id))


@router.patch("/users/{user_id}", response_model=s.UserRead)
def update_user(
    user_id: uuid.UUID, data: s.UserUpdate, actor: ActorDep, session: SessionDep
) -> s.UserRead:
    return user_read(UserService(session).update(actor, user_id, data))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> None:
    UserService(session).delete(actor, user_id)


# --- devices --------------------------------------------------------------------------------


@router.get("/devices", response_model=list[s.DeviceRead])
def list_devices(actor: ActorDep, session: SessionDep) -> list[s.DeviceRead]:
    return [s.DeviceRead.model_validate(d) for d in DeviceService(session).list(actor)]


@router.post("/devices", response_model=s.DeviceRead, status_code=status.HTTP_201_CREATED)
def create_device(data: s.DeviceCreate, actor: ActorDep, session: SessionDep) -> s.DeviceRead:
    return s.DeviceRead.model_validate(DeviceService(session).create(actor, actor.org_id, data))


@router.get("/devices/{device_id}", response_model=s.DeviceRead)
def get_device(device_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> s.DeviceRead:
    return s.DeviceRead.model_validate(DeviceService(session).get(actor, device_id))


@router.patch("/devices/{device_id}", response_model=s.DeviceRead)
def update_device(
    device_id: uuid.UUID, data: s.DeviceUpdate, actor: ActorDep, session: SessionDep
) -> s.DeviceRead:
    return s.DeviceRead.model_validate(DeviceService(session).update(actor, device_id, data))


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_device(device_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> None:
    DeviceService(session).delete(actor, device_id)
