"""The change events of a strength recomputation, recorded in the transaction that writes it.

Per batch of customers, the pairs as stored before are compared with the pairs
computed: a pair that became connected is ``linked`` (with its strength), a
pair that stopped interacting is ``unlinked``, and a pair whose 0-100 strength
moved is ``updated`` with ``strength: [old, new]``. The components move at
every run (recency decays by the day) while the strength rounds them away, so
they make no event. A customer pair is stored both ways; its events name it
once, from the customer with the smaller id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rapport.auth.actor import Actor, Role
from rapport.events.outbox import ChangeEvent, ChangeType, link_event
from rapport.graph.records import NodeRef
from rapport.graph.types import GraphStore

ACTOR = Actor(subject="algorithm:strength", role=Role.ADMIN)  # what the events name as their actor
_TYPE = "CONNECTED_TO"

_STORED_STAFF = """
UNWIND $ids AS cid
MATCH (:Customer {id: cid})<-[r:CONNECTED_TO]-(u:User)
RETURN u.id AS first, cid AS second, r.strength AS strength
"""
_STORED_PEERS = """
UNWIND $ids AS cid
MATCH (:Customer {id: cid})-[r:CONNECTED_TO]->(o:Customer)
WITH cid, r, o WHERE cid < o.id
RETURN cid AS first, o.id AS second, r.strength AS strength
"""

Strengths = dict[tuple[str, str], Any]  # (first id, second id) -> strength


async def strength_changes(
    store: GraphStore,
    customers: Sequence[str],
    staff_rows: Sequence[dict[str, Any]],
    peer_rows: Sequence[dict[str, Any]],
) -> list[ChangeEvent]:
    """The events of replacing the ``CONNECTED_TO`` relationships of ``customers`` (a batch) with
    the computed ``staff_rows`` and ``peer_rows`` (``first``, ``second`` and ``properties``)."""
    params = {"ids": list(customers)}
    stored_staff = {(r["first"], r["second"]): r["strength"] for r in await store.read(_STORED_STAFF, params)}
    stored_peers = {(r["first"], r["second"]): r["strength"] for r in await store.read(_STORED_PEERS, params)}
    return [*_changes("User", stored_staff, staff_rows), *_changes("Customer", stored_peers, peer_rows)]


def _changes(first_label: str, stored: Strengths, rows: Sequence[dict[str, Any]]) -> list[ChangeEvent]:
    computed: Strengths = {(row["first"], row["second"]): row["properties"]["strength"] for row in rows}
    events = []
    for (first, second), strength in computed.items():
        source, target = NodeRef(first_label, first), NodeRef("Customer", second)
        if (pair := (first, second)) not in stored:
            events.append(link_event(ChangeType.LINKED, _TYPE, source, target, {"strength": strength}))
        elif stored[pair] != strength:
            moved = {"strength": (stored[pair], strength)}
            events.append(ChangeEvent(ChangeType.UPDATED, _TYPE, pair, moved, (first_label, "Customer")))
    for first, second in sorted(stored.keys() - computed.keys()):
        source, target = NodeRef(first_label, first), NodeRef("Customer", second)
        events.append(link_event(ChangeType.UNLINKED, _TYPE, source, target, {}))
    return events
