"""Record rules: which records an actor may read and change, as where trees compiled into queries.

A rule narrows the ``MATCH`` itself, so a record the actor may not see is
never fetched, counted or used to satisfy a filter. Labels without a rule
are readable by every role (accounts and contacts are shared in a CRM; who
may change them is a separate, stricter matter).
"""

from __future__ import annotations

from dataclasses import dataclass

from rapport.auth.actor import Actor, Role
from rapport.resolvers.filters import RECORD_ID, RuleFor, Where


def _me(actor: Actor) -> Where:
    # A service account (no user) matches no owner: rules that need one show nothing.
    return {RECORD_ID: {"eq": actor.user_id or ""}}


def _my_teammates(actor: Actor) -> Where:
    """Users in a team the actor belongs to (the actor included)."""
    return {"teams": {"some": {"members": {"some": _me(actor)}}}}


def _assigned_to_me_or_my_team(actor: Actor) -> Where:
    return {
        "OR": [
            {"assignees": {"some": _me(actor)}},
            {"assignedTeams": {"some": {"members": {"some": _me(actor)}}}},
        ]
    }


def read_rules(actor: Actor) -> RuleFor:
    """The read rule for each label, for ``actor``."""
    rules: dict[str, Where] = {}
    if actor.role is Role.SALES:
        rules["Deal"] = {"owners": {"some": _me(actor)}}
    elif actor.role is Role.MANAGER:
        rules["Deal"] = {"owners": {"some": _my_teammates(actor)}}
    elif actor.role is Role.SUPPORT:
        rules["Ticket"] = _assigned_to_me_or_my_team(actor)
    return rules.get


_WRITABLE: dict[Role, frozenset[str]] = {
    Role.SALES: frozenset({"Account", "Deal", "Customer", "Activity"}),
    Role.MANAGER: frozenset({"Account", "Deal", "Customer", "Activity"}),
    Role.SUPPORT: frozenset({"Ticket", "Customer", "Activity", "Article"}),
    Role.MARKETING: frozenset({"Campaign", "Segment", "Customer", "Activity"}),
}


@dataclass(frozen=True)
class WriteAccess:
    """What an actor may change: which labels, and which records of them (as where trees)."""

    actor: Actor

    def may_write(self, label: str) -> bool:
        if self.actor.role is Role.ADMIN:
            return True
        return label in _WRITABLE.get(self.actor.role, frozenset())

    def rule_for(self, label: str) -> Where | None:
        """Sales change the accounts and deals they own, managers those their teams own,
        support the tickets assigned to them or their team."""
        role = self.actor.role
        if role is Role.SALES and label in ("Account", "Deal"):
            return {"owners": {"some": _me(self.actor)}}
        if role is Role.MANAGER and label in ("Account", "Deal"):
            return {"owners": {"some": _my_teammates(self.actor)}}
        if role is Role.SUPPORT and label == "Ticket":
            return _assigned_to_me_or_my_team(self.actor)
        return None

    def owner_link(self, label: str) -> tuple[str, str] | None:
        """The relationship that makes a new record the actor's: ``(relationship type, direction)``.

        A rep who creates an account owns it; an agent who opens a ticket has it
        assigned; otherwise the rule above would hide the record from its creator.
        """
        if self.actor.user_id is None or self.rule_for(label) is None:
            return None
        return ("ASSIGNED_TO", "to_actor") if label == "Ticket" else ("OWNS", "from_actor")
