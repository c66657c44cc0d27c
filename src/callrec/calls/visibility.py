"""The calls a viewer sees, as one SQL condition over ``calls`` (reports and the session view).

It is the SQL form of ``access.rules.can_view_call``: one's own calls (any call one took part
in, as a participant — every segment's user is one, see ``CallService``); every call of the
org for org admins and the 'all' scope; and the calls tagged with the teams the playback scope
covers ('primary_group': the primary team; 'member_groups': every team one belongs to). Another
org's calls never match.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, exists, or_

from callrec.access.rules import Actor, sees_every_call, visible_team_ids
from callrec.models import Call, Participant, call_teams


def own_calls_clause(user_id: uuid.UUID) -> ColumnElement[bool]:
    """Calls the user took part in (conferences included, whenever they joined)."""
    return exists().where(Participant.call_id == Call.id, Participant.user_id == user_id)


def tagged_calls_clause(team_ids: frozenset[uuid.UUID]) -> ColumnElement[bool]:
    return exists().where(
        call_teams.c.call_id == Call.id, call_teams.c.team_id.in_(sorted(team_ids))
    )


def visible_calls_clause(actor: Actor) -> ColumnElement[bool]:
    in_org = Call.org_id == actor.org_id
    if sees_every_call(actor):
        return in_org
    own = own_calls_clause(actor.user_id)
    teams = visible_team_ids(actor)
    if not teams:
        return and_(in_org, own)
    return and_(in_org, or_(own, tagged_calls_clause(teams)))
