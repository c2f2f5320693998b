"""What stops a record from being deleted, and what ``cascade: true`` deletes with it."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.resolvers.filters import Where

OPEN_DEALS: Where = {"stage": {"notIn": ["closed_won", "closed_lost"]}}
OPEN_TICKETS: Where = {"status": {"notIn": ["solved", "closed"]}}


@dataclass(frozen=True)
class Dependent:
    """Linked records (through relationship field ``field``) matching ``where`` block a delete.

    With ``cascade`` the client may ask for them to be deleted along with the
    record; without, they must be reassigned or closed first.
    """

    field: str
    where: Where
    description: str
    cascade: bool


DEPENDENTS: dict[str, tuple[Dependent, ...]] = {
    "Account": (
        Dependent("deals", OPEN_DEALS, "open deals", cascade=True),
        Dependent("subsidiaries", {}, "subsidiaries", cascade=False),
    ),
    "Customer": (Dependent("tickets", OPEN_TICKETS, "open tickets", cascade=True),),
    "Product": (Dependent("deals", OPEN_DEALS, "open deals", cascade=False),),
    "User": (
        Dependent("ownedAccounts", {}, "owned accounts", cascade=False),
        Dependent("ownedDeals", OPEN_DEALS, "open deals", cascade=False),
    ),
    "Team": (Dependent("members", {}, "members", cascade=False),),
}
