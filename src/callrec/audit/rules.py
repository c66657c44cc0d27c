"""Who may read and verify the audit log: pure rules over an Actor (no I/O, no framework)."""

from __future__ import annotations

from callrec.access.rules import Actor, Permission, Role


def can_read_audit(actor: Actor) -> Permission:
    """Platform admins read every event; org admins their own org's (the caller scopes it)."""
    if actor.is_platform_admin or actor.role is Role.ORG_ADMIN:
        return True
    return f"your role is '{actor.role}': only org admins and platform admins read the audit log"


def can_verify_audit(actor: Actor) -> Permission:
    # The chain spans every org: verifying it says something about other tenants' events.
    if actor.is_platform_admin:
        return True
    return "only platform admins may verify the audit chain, which spans every organisation"
