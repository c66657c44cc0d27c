"""Who may do what with announcements and consent settings: pure rules, like access.rules.

The library is org-wide: every member may list and play it (they pick from it in their own
recording settings), org admins and supervisors build it (supervisors set the announcements of
the teams they manage), and only org admins change the org's ask-to-record settings.
"""

from __future__ import annotations

from uuid import UUID

from callrec.access.rules import Actor, Permission, Role

_LIBRARY_ROLES = frozenset({Role.ORG_ADMIN, Role.SUPERVISOR})


def can_view_announcements(actor: Actor, org_id: UUID) -> Permission:
    if org_id != actor.org_id:
        return "these announcements are not in your organisation"
    return True


def can_manage_announcements(actor: Actor, org_id: UUID) -> Permission:
    if org_id != actor.org_id:
        return "these announcements are not in your organisation"
    if actor.role in _LIBRARY_ROLES:
        return True
    return f"your role is '{actor.role}': only org admins and supervisors may manage announcements"


def can_change_consent_settings(actor: Actor, org_id: UUID) -> Permission:
    if org_id != actor.org_id:
        return "this organisation is not yours"
    if actor.role is Role.ORG_ADMIN:
        return True
    return f"your role is '{actor.role}': only org admins may change the consent settings"
