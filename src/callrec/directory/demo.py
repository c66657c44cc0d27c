"""The demo tenant `make run` loads into a new database, so a newcomer sees the product at once.

It includes the brief's two worked examples: Alice's desk phone (device Off, user Inherit,
org On for incoming calls: not recorded) and Bob's softphone (device Inherit, user On, org Off
for outgoing calls: recorded).

Consent: every incoming call that is recorded first plays a text-to-speech announcement (set at
the org); the Support team asks before recording outgoing calls and beeps every 15 s; Carol asks
on her own outgoing calls (user level) and Bob's recorded calls beep every 15 s (user level).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from callrec.access.rules import ManagementScope, PlaybackScope, Role
from callrec.consent.schemas import TtsAnnouncementCreate
from callrec.consent.service import AnnouncementService
from callrec.directory import schemas as s
from callrec.directory.repository import OrgRepository
from callrec.directory.service import DeviceService, OrgService, TeamService, UserService
from callrec.models import Org
from callrec.policy.types import AnnouncementMode, BeepMode, OutgoingMode, Toggle
from callrec.worker.runtime import Runtime, current_runtime

DEMO_SLUG = "demo"
DEMO_PASSWORD = "callrec-demo"
DEMO_ADMIN = "admin@demo.example.com"
DEMO_ANNOUNCEMENT = "This call may be recorded for quality and training purposes."


@dataclass(frozen=True)
class _Person:
    name: str
    ext: str
    team: str
    role: Role = Role.USER
    licence: bool = True
    scope: ManagementScope = ManagementScope.ME
    playback: PlaybackScope = PlaybackScope.OWN
    manages: tuple[str, ...] = ()


_PEOPLE = (
    _Person(
        "Ada Admin",
        "100",
        "Support",
        Role.ORG_ADMIN,
        scope=ManagementScope.EVERYONE,
        playback=PlaybackScope.ALL,
    ),
    _Person(
        "Sam Supervisor",
        "101",
        "Sales",
        Role.SUPERVISOR,
        scope=ManagementScope.TEAMS,
        playback=PlaybackScope.MEMBER_GROUPS,
        manages=("Sales",),
    ),
    _Person(
        "Sue Supervisor",
        "102",
        "Support",
        Role.SUPERVISOR,
        scope=ManagementScope.TEAMS,
        playback=PlaybackScope.PRIMARY_GROUP,
        manages=("Support", "Billing"),
    ),
    _Person("Alice Example-One", "201", "Sales"),
    _Person("Bob Example-Two", "202", "Sales"),
    _Person("Carol Sales", "203", "Sales"),
    _Person("Dan Support", "301", "Support"),
    _Person("Erin Support", "302", "Support"),
    _Person("Frank Support", "303", "Support", licence=False),
    _Person("Grace Billing", "401", "Billing"),
    _Person("Heidi Billing", "402", "Billing"),
    _Person("Ivan Billing", "403", "Billing", playback=PlaybackScope.NONE),
)


def demo_exists(session: Session) -> bool:
    return OrgRepository(session).slug_taken(DEMO_SLUG)


def load_demo(session: Session, runtime: Runtime | None = None) -> Org:
    """``runtime`` (default: the process's) gives the blob store the announcement is kept in."""
    rt = runtime or current_runtime()
    org = OrgService(session).create(
        None, s.OrgCreate(name="Demo Telecom", slug=DEMO_SLUG, licences_purchased=15)
    )
    # The org records incoming calls and not outgoing ones; teams and people refine it.
    org.rec_incoming = Toggle.ON
    org.rec_outgoing = Toggle.OFF
    welcome = AnnouncementService(session, rt.blobs, rt.settings).create_tts(
        org.id, TtsAnnouncementCreate(name="Welcome", text=DEMO_ANNOUNCEMENT, voice="en-us")
    )
    org.rec_announcement = AnnouncementMode.PLAY
    org.rec_announcement_id = welcome.id

    teams = {}
    for name in ("Sales", "Support", "Billing"):
        teams[name] = TeamService(session).create(None, org.id, s.TeamCreate(name=name))
    support = teams["Support"]
    support.rec_outgoing = Toggle.ON
    support.rec_outgoing_mode = OutgoingMode.ASK
    support.rec_beep = BeepMode.ON
    support.rec_beep_interval_s = 15
    teams["Billing"].rec_incoming = Toggle.OFF

    users = UserService(session)
    devices = DeviceService(session)
    for person in _PEOPLE:
        first = person.name.split()[0].lower()
        email = DEMO_ADMIN if person.role is Role.ORG_ADMIN else f"{first}@demo.example.com"
        user = users.create(
            None,
            org.id,
            s.UserCreate(
                email=email,
                display_name=person.name,
                extension=person.ext,
                password=DEMO_PASSWORD,
                role=person.role,
                has_licence=person.licence,
                primary_team_id=teams[person.team].id,
                management_scope=person.scope,
                managed_team_ids=[teams[t].id for t in person.manages],
                playback_scope=person.playback,
            ),
        )
        user.is_platform_admin = person.role is Role.ORG_ADMIN
        desk = devices.create(
            None,
            org.id,
            s.DeviceCreate(
                user_id=user.id,
                name=f"{person.name} desk phone",
                sip_username=first,
                aor=f"sip:{first}@demo.example.com",
                extension=f"8{person.ext}",
            ),
        )
        if first == "alice":  # brief example 1: device Off, user Inherit, org On (incoming)
            desk.rec_incoming = Toggle.OFF
        if first == "bob":  # brief example 2: device Inherit, user On, org Off (outgoing)
            user.rec_outgoing = Toggle.ON
            user.rec_beep = BeepMode.ON  # compliance beep at the user level
            user.rec_beep_interval_s = 15
        if first == "carol":  # ask-to-record at the user level
            user.rec_outgoing = Toggle.ON
            user.rec_outgoing_mode = OutgoingMode.ASK
        if first in {"carol", "dan"}:
            devices.create(
                None,
                org.id,
                s.DeviceCreate(
                    user_id=user.id,
                    name=f"{person.name} softphone",
                    sip_username=f"{first}-soft",
                    aor=f"sip:{first}-soft@demo.example.com",
                ),
            )
    session.flush()
    return org
