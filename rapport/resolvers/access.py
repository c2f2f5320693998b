"""Record rules: which records an actor may read, as where trees compiled into every query.

A rule narrows the ``MATCH`` itself, so a record the actor may not see is
never fetched, counted or used to satisfy a filter. Labels without a rule
are readable by every role (accounts and contacts are shared in a CRM; who
may change them is a separate, stricter matter).
"""

from __future__ import annotations

from rapport.auth.actor import Actor, Role
from rapport.resolvers.filters import RECORD_ID, RuleFor, Where


def _me(actor: Actor) -> Where:
    # A service account (no user) matches no owner: rules that need one show nothing.
    return {RECORD_ID: {"eq": actor.user_id or ""}}


def _my_teammates(actor: Actor) -> Where:
    """Users in a team the actor belongs to (the actor included)."""
    return {"teams": {"some": {"members": {"some": _me(actor)}}}}


def read_rules(actor: Actor) -> RuleFor:
    """The read rule for each label, for ``actor``."""
    rules: dict[str, Where] = {}
    if actor.role is Role.SALES:
        rules["Deal"] = {"owners": {"some": _me(actor)}}
    elif actor.role is Role.MANAGER:
        rules["Deal"] = {"owners": {"some": _my_teammates(actor)}}
    elif actor.role is Role.SUPPORT:
        rules["Ticket"] = {
            "OR": [
                {"assignees": {"some": _me(actor)}},
                {"assignedTeams": {"some": {"members": {"some": _me(actor)}}}},
            ]
        }
    return rules.get
