"""Small worlds for directory tests: an org with teams, users of each role, devices."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from callrec.access.rules import ManagementScope, PlaybackScope, Role
from callrec.access.service import AuthService, build_actor
from callrec.directory import schemas as s
from callrec.directory.service import DeviceService, OrgService, TeamService, UserService
from callrec.kit.clock import Clock
from callrec.models import Device, Org, Team, User


@dataclass
class World:
    org: Org
    teams: dict[str, Team] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)


def make_user(
    session: Session,
    org: Org,
    key: str,
    *,
    role: Role = Role.USER,
    team: Team | None = None,
    scope: ManagementScope = ManagementScope.ME,
    manages: tuple[Team, ...] = (),
    licence: bool = True,
    playback: PlaybackScope = PlaybackScope.OWN,
    extension: str | None = None,
) -> User:
    return UserService(session).create(
        None,
        org.id,
        s.UserCreate(
            email=f"{key}@{org.slug}.example.com",
            display_name=key.title(),
            extension=extension,
            role=role,
            has_licence=licence,
            primary_team_id=team.id if team else None,
            management_scope=scope,
            managed_team_ids=[t.id for t in manages],
            playback_scope=playback,
        ),
    )


def make_device(session: Session, org: Org, user: User, key: str) -> Device:
    return DeviceService(session).create(
        None,
        org.id,
        s.DeviceCreate(
            user_id=user.id,
            name=f"{key} phone",
            sip_username=key,
            aor=f"sip:{key}@{org.slug}.example.com",
        ),
    )


def build_world(session: Session, slug: str = "acme", licences: int = 10) -> World:
    """Teams sales/support; admin, a supervisor managing sales, alice (sales), bob (support),
    carol (no team, no licence); alice and bob each have a device."""
    org = OrgService(session).create(
        None, s.OrgCreate(name=slug.title(), slug=slug, licences_purchased=licences)
    )
    world = World(org)
    for name in ("sales", "support"):
        world.teams[name] = TeamService(session).create(None, org.id, s.TeamCreate(name=name))
    sales, support = world.teams["sales"], world.teams["support"]
    world.users["admin"] = make_user(
        session,
        org,
        "admin",
        role=Role.ORG_ADMIN,
        scope=ManagementScope.EVERYONE,
        playback=PlaybackScope.ALL,
    )
    world.users["supervisor"] = make_user(
        session,
        org,
        "supervisor",
        role=Role.SUPERVISOR,
        team=sales,
        scope=ManagementScope.TEAMS,
        manages=(sales,),
    )
    world.users["alice"] = make_user(session, org, "alice", team=sales, extension="201")
    world.users["bob"] = make_user(session, org, "bob", team=support, extension="202")
    world.users["carol"] = make_user(session, org, "carol", licence=False)
    world.devices["alice"] = make_device(session, org, world.users["alice"], "alice")
    world.devices["bob"] = make_device(session, org, world.users["bob"], "bob")
    session.flush()
    return world


def bearer(session: Session, clock: Clock, user: User) -> dict[str, str]:
    issued = AuthService(session, clock).issue_token(build_actor(session, user), "test")
    session.flush()
    return {"Authorization": f"Bearer {issued.secret}"}
