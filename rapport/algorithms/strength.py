"""Relationship strength: a 0-100 score per pair of people, stored on ``CONNECTED_TO``.

Pairs are staff-customer (a ``User`` who ``PERFORMED`` an ``Activity`` ``WITH``
the customer) and customer-customer (``KNOWS``, ``REFERRED``, an activity both
attended, a deal that ``INVOLVES`` both). Every such link is an *interaction*
with a time, a channel weight and a side (who reached out):

============================  ========================  ====================  =================
interaction                   time                      channel weight        side
============================  ========================  ====================  =================
activity, staff-customer      ``occurredAt``            meeting 1, call 0.6,  outbound: staff,
                                                        email 0.3, note 0.1   inbound: customer,
                                                                              none: both
activity both customers had   ``occurredAt``            as above              both
deal involving both           ``closedAt``, or the      0.8                   both
                              as-of time while open
``REFERRED``                  ``at``                    1.0                   the referrer
``KNOWS``                     the as-of time (a         0.6 x its             its start node
                              standing tie)             ``strength`` (0.5)
============================  ========================  ====================  =================

Only interactions in the window ``(as_of - window_days, as_of]`` count; a pair
without one gets no ``CONNECTED_TO`` (so recomputing drops pairs that stopped
interacting). From the ``n`` interactions of a pair, each in [0, 1]:

- recency ``R = 2 ** (-(as_of - last) / half_life)``, ``last`` the latest interaction;
- frequency ``F = 1 - exp(-n / 8)``;
- channel ``C = W / (W + 3)``, ``W`` the sum of the channel weights (meetings count most);
- reciprocity ``P = (min(a, b) + m) / (max(a, b) + m)``, with ``a`` and ``b`` the
  interactions from each side and ``m`` those of both;

and ``strength = round(100 * R * (0.45 F + 0.35 C + 0.20 P))``. Recency multiplies:
a relationship is only as warm as its last contact. Each component grows with
what it measures, and adding an interaction never lowers ``R``, ``F`` or ``C``.

Storage: ``(:User)-[:CONNECTED_TO]->(:Customer)`` per staff-customer pair, and for
a customer pair one relationship each way with the same values, so
``(c)-[:CONNECTED_TO]->(:Customer)`` lists all of ``c``'s connections. Each carries
``strength``, the four components, ``interactions``, ``lastInteractionAt``,
``computedAt`` (the as-of time) and ``reasons``.

The whole graph is computed in batches of customers: per batch a few Cypher
aggregations (the same text on both backends), then one write transaction that
replaces the batch's ``CONNECTED_TO`` relationships, so readers never see a
customer half updated, and records the change events of the pairs that were
linked, unlinked or whose strength moved (:mod:`rapport.algorithms.strength_changes`).

Examples
--------
>>> from datetime import UTC, datetime
>>> report = await compute_strength(store, as_of=datetime(2026, 11, 1, tzinfo=UTC))  # doctest: +SKIP
>>> report.staff_pairs, report.customer_pairs  # doctest: +SKIP
(2416, 3071)
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from rapport.algorithms.strength_changes import ACTOR, strength_changes
from rapport.events.outbox import with_outbox
from rapport.graph.types import GraphStore, Record, Statement
from rapport.graph.values import epoch_millis, now_millis

__all__ = [
    "ACTIVITY_WEIGHTS",
    "DAY_MS",
    "HALF_LIFE_DAYS",
    "WINDOW_DAYS",
    "Interactions",
    "Strength",
    "StrengthReport",
    "compute_strength",
    "score",
]

DAY_MS = 86_400_000
HALF_LIFE_DAYS = 90.0
WINDOW_DAYS = 365.0
_FREQUENCY_SCALE = 8.0  # interactions that make frequency 1 - 1/e
_CHANNEL_SCALE = 3.0  # summed channel weight that makes channel 0.5
_WEIGHTS = (0.45, 0.35, 0.20)  # frequency, channel, reciprocity
ACTIVITY_WEIGHTS = {"meeting": 1.0, "call": 0.6, "email": 0.3, "note": 0.1}
_UNKNOWN_KIND_WEIGHT = 0.3
_DEAL_WEIGHT = 0.8
_REFERRAL_WEIGHT = 1.0
_KNOWS_WEIGHT = 0.6  # times the KNOWS relationship's own strength
_KNOWS_DEFAULT_STRENGTH = 0.5

Side = Literal["first", "second", "both"]
_DIRECTION_SIDES: dict[str | None, Side] = {"outbound": "first", "inbound": "second"}


@dataclass(slots=True)
class Interactions:
    """What one pair did together in the window; ``first`` is the staff member, or the customer
    with the smaller id."""

    count: int = 0
    weight: float = 0.0  # the sum of channel weights
    last: int = 0  # epoch ms of the latest interaction
    first: int = 0  # interactions from the first person's side
    second: int = 0
    both: int = 0
    channels: Counter[str] = field(default_factory=Counter)

    def add(self, channel: str, weight: float, count: int, last: int, side: Side) -> None:
        """Add ``count`` interactions of ``channel`` (each weighing ``weight``), the latest at ``last``."""
        self.count += count
        self.weight += weight * count
        self.last = max(self.last, last)
        setattr(self, side, getattr(self, side) + count)
        self.channels[channel] += count


@dataclass(frozen=True, slots=True)
class Strength:
    """The score of one pair, its components (each in [0, 1]) and the reasons in plain words."""

    strength: int
    recency: float
    frequency: float
    channel: float
    reciprocity: float
    interactions: int
    last_interaction_at: int
    reasons: tuple[str, ...]

    def properties(self, computed_at: int) -> dict[str, Any]:
        """The properties of the ``CONNECTED_TO`` relationship that stores it."""
        return {
            "strength": self.strength,
            "recency": self.recency,
            "frequency": self.frequency,
            "channel": self.channel,
            "reciprocity": self.reciprocity,
            "interactions": self.interactions,
            "lastInteractionAt": self.last_interaction_at,
            "computedAt": computed_at,
            "reasons": list(self.reasons),
        }


def score(
    interactions: Interactions,
    as_of: int,
    *,
    half_life_days: float = HALF_LIFE_DAYS,
    window_days: float = WINDOW_DAYS,
) -> Strength:
    """The strength of a pair from its interactions in the window ending at ``as_of`` (epoch ms).

    See the module docstring for the formula.
    """
    if interactions.count < 1:
        raise ValueError("a pair needs at least one interaction to be scored")
    i = interactions
    recency = 2.0 ** (-max(as_of - i.last, 0) / (half_life_days * DAY_MS))
    frequency = 1.0 - math.exp(-i.count / _FREQUENCY_SCALE)
    channel = i.weight / (i.weight + _CHANNEL_SCALE)
    reciprocity = (min(i.first, i.second) + i.both) / (max(i.first, i.second) + i.both)
    w_f, w_c, w_p = _WEIGHTS
    value = 100.0 * recency * (w_f * frequency + w_c * channel + w_p * reciprocity)
    return Strength(
        strength=round(value),
        recency=round(recency, 4),
        frequency=round(frequency, 4),
        channel=round(channel, 4),
        reciprocity=round(reciprocity, 4),
        interactions=i.count,
        last_interaction_at=i.last,
        reasons=_reasons(i, as_of, reciprocity, window_days),
    )


def _reasons(i: Interactions, as_of: int, reciprocity: float, window_days: float) -> tuple[str, ...]:
    days = max(as_of - i.last, 0) // DAY_MS
    last = "last interaction today" if days == 0 else f"last interaction {_plural(days, 'day')} ago"
    by_count = sorted(i.channels.items(), key=lambda item: (-item[1], item[0]))
    mix = ", ".join(_plural(n, channel) for channel, n in by_count)
    if reciprocity >= 0.6:
        balance = "contact goes both ways"
    elif reciprocity > 0:
        balance = "contact goes mostly one way"
    else:
        balance = "contact goes one way only"
    return (last, f"{mix} in the last {window_days:g} days", balance)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True, slots=True)
class StrengthReport:
    """What one recomputation did."""

    as_of: int
    customers: int
    staff_pairs: int
    customer_pairs: int
    replaced: int  # CONNECTED_TO relationships there were before
    changes: int  # change events recorded: pairs linked, unlinked, or whose strength moved
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.staff_pairs} staff-customer and {self.customer_pairs} customer-customer pairs "
            f"over {self.customers} customers (replacing {self.replaced} relationships, "
            f"{self.changes} changed) in {self.seconds:.1f}s"
        )


# -- the aggregations, per batch of customers ($ids) --------------------------------------------
# Filters sit in a WITH after the MATCH: in the MATCH's WHERE, FalkorDB would start from an index
# scan of every activity in the window (for each customer!) instead of from the customer by id.
# Staff-customer pairs: activities by kind and direction.
_STAFF = """
UNWIND $ids AS cid
MATCH (:Customer {id: cid})<-[:WITH]-(a:Activity)<-[:PERFORMED]-(u:User)
WITH cid, u, a WHERE a.occurredAt > $from AND a.occurredAt <= $asOf
RETURN u.id AS first, cid AS second, a.kind AS kind, a.direction AS direction,
       count(*) AS n, max(a.occurredAt) AS last
"""
# Customer pairs are found from the customer with the smaller id, so each pair is seen once.
_SHARED_ACTIVITIES = """
UNWIND $ids AS cid
MATCH (:Customer {id: cid})<-[:WITH]-(a:Activity)-[:WITH]->(o:Customer)
WITH cid, a, o WHERE cid < o.id AND a.occurredAt > $from AND a.occurredAt <= $asOf
RETURN cid AS first, o.id AS second, a.kind AS kind, count(*) AS n, max(a.occurredAt) AS last
"""
_SHARED_DEALS = """
UNWIND $ids AS cid
MATCH (:Customer {id: cid})<-[:INVOLVES]-(d:Deal)-[:INVOLVES]->(o:Customer)
WITH cid, d, o WHERE cid < o.id AND coalesce(d.createdAt, 0) <= $asOf
WITH cid, o, CASE WHEN d.closedAt IS NULL OR d.closedAt > $asOf THEN $asOf ELSE d.closedAt END AS at
WHERE at > $from
RETURN cid AS first, o.id AS second, count(*) AS n, max(at) AS last
"""
_REFERRALS = """
UNWIND $ids AS cid
MATCH (:Customer {id: cid})-[r:REFERRED]-(o:Customer)
WITH cid, r, o, coalesce(r.at, r.createdAt) AS at
WHERE cid < o.id AND at > $from AND at <= $asOf
RETURN cid AS first, o.id AS second, startNode(r).id = cid AS forward, count(*) AS n, max(at) AS last
"""
_KNOWS = """
UNWIND $ids AS cid
MATCH (:Customer {id: cid})-[k:KNOWS]-(o:Customer)
WITH cid, k, o WHERE cid < o.id AND coalesce(k.since, 0) <= $asOf
RETURN cid AS first, o.id AS second, startNode(k).id = cid AS forward,
       coalesce(k.strength, $knowsDefault) AS tie
"""
# -- the writes, per batch: one transaction ------------------------------------------------------
_REMOVE_STAFF = """
UNWIND $ids AS cid
MATCH (:Customer {id: cid})<-[r:CONNECTED_TO]-(:User)
DELETE r
RETURN count(r) AS removed
"""
_REMOVE_PEERS = """
UNWIND $ids AS cid
MATCH (c:Customer {id: cid})-[r:CONNECTED_TO]-(o:Customer)
WHERE c.id < o.id
DELETE r
RETURN count(r) AS removed
"""
_WRITE_STAFF = """
UNWIND $rows AS row
MATCH (u:User {id: row.first}), (c:Customer {id: row.second})
CREATE (u)-[r:CONNECTED_TO]->(c)
SET r += row.properties
RETURN count(r) AS written
"""
_WRITE_PEERS = """
UNWIND $rows AS row
MATCH (a:Customer {id: row.first}), (b:Customer {id: row.second})
CREATE (a)-[r:CONNECTED_TO]->(b), (b)-[s:CONNECTED_TO]->(a)
SET r += row.properties, s += row.properties
RETURN count(r) AS written
"""

Pairs = dict[tuple[str, str], Interactions]


async def compute_strength(
    store: GraphStore,
    *,
    as_of: datetime | None = None,
    window_days: float = WINDOW_DAYS,
    half_life_days: float = HALF_LIFE_DAYS,
    batch_size: int = 2_000,
) -> StrengthReport:
    """Recompute the strength of every interacting pair and store it on ``CONNECTED_TO``.

    Parameters
    ----------
    store:
        Either backend.
    as_of:
        The moment the strengths describe (default now): later interactions are
        ignored and ``computedAt`` is set to it, so the same graph and ``as_of``
        give the same result.
    window_days, half_life_days:
        The look-back window and the half-life of recency.
    batch_size:
        Customers per aggregation and write transaction.

    Returns
    -------
    StrengthReport
        The pairs written and the relationships they replaced.
    """
    if window_days <= 0 or half_life_days <= 0:
        raise ValueError("window_days and half_life_days must be positive")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    at = now_millis() if as_of is None else epoch_millis(as_of)
    params = {"asOf": at, "from": at - int(window_days * DAY_MS), "knowsDefault": _KNOWS_DEFAULT_STRENGTH}
    ids = [row["id"] for row in await store.read("MATCH (c:Customer) RETURN c.id AS id")]
    staff_pairs = customer_pairs = replaced = changes = 0
    for batch in _chunks(ids, batch_size):
        staff, peers = await _interactions(store, {**params, "ids": batch})
        staff_rows = _rows(staff, at, half_life_days, window_days)
        peer_rows = _rows(peers, at, half_life_days, window_days)
        events = await strength_changes(store, batch, staff_rows, peer_rows)
        statements = [
            Statement(_REMOVE_STAFF, {"ids": batch}),
            Statement(_REMOVE_PEERS, {"ids": batch}),
            Statement(_WRITE_STAFF, {"rows": staff_rows}),
            Statement(_WRITE_PEERS, {"rows": peer_rows}),
        ]
        removed_staff, removed_peers, *_ = await store.write_transaction(
            with_outbox(statements, events, ACTOR)
        )
        replaced += int(removed_staff[0]["removed"]) + int(removed_peers[0]["removed"])
        staff_pairs += len(staff_rows)
        customer_pairs += len(peer_rows)
        changes += len(events)
    seconds = time.perf_counter() - started
    return StrengthReport(at, len(ids), staff_pairs, customer_pairs, replaced, changes, seconds)


async def _interactions(store: GraphStore, params: dict[str, Any]) -> tuple[Pairs, Pairs]:
    """The interactions of the batch's staff-customer and customer-customer pairs."""
    staff: Pairs = {}
    for row in await store.read(_STAFF, params):
        kind, side = row["kind"], _DIRECTION_SIDES.get(row["direction"], "both")
        _pair(staff, row).add(kind, ACTIVITY_WEIGHTS.get(kind, _UNKNOWN_KIND_WEIGHT), *_count_last(row), side)
    peers: Pairs = {}
    for row in await store.read(_SHARED_ACTIVITIES, params):
        kind = row["kind"]
        weight = ACTIVITY_WEIGHTS.get(kind, _UNKNOWN_KIND_WEIGHT)
        _pair(peers, row).add(f"shared {kind}", weight, *_count_last(row), "both")
    for row in await store.read(_SHARED_DEALS, params):
        _pair(peers, row).add("shared deal", _DEAL_WEIGHT, *_count_last(row), "both")
    for row in await store.read(_REFERRALS, params):
        _pair(peers, row).add("referral", _REFERRAL_WEIGHT, *_count_last(row), _start_side(row))
    for row in await store.read(_KNOWS, params):
        weight = _KNOWS_WEIGHT * float(row["tie"])
        _pair(peers, row).add("KNOWS tie", weight, 1, params["asOf"], _start_side(row))
    return staff, peers


def _start_side(row: Record) -> Side:
    """The side of a directed tie (a referral, a KNOWS): the person it starts from."""
    return "first" if row["forward"] else "second"


def _pair(pairs: Pairs, row: Record) -> Interactions:
    key = (row["first"], row["second"])
    found = pairs.get(key)
    if found is None:
        found = pairs[key] = Interactions()
    return found


def _count_last(row: Record) -> tuple[int, int]:
    # FalkorDB may return aggregates of integers as floats.
    return int(row["n"]), int(row["last"])


def _rows(pairs: Pairs, at: int, half_life_days: float, window_days: float) -> list[dict[str, Any]]:
    rows = []
    for (first, second), interactions in pairs.items():
        strength = score(interactions, at, half_life_days=half_life_days, window_days=window_days)
        rows.append({"first": first, "second": second, "properties": strength.properties(at)})
    return rows


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
