"""Warm introductions: the best chains of people from someone to a target customer.

Chains follow ``CONNECTED_TO`` (:mod:`rapport.algorithms.strength`): from a
staff user to the customers they deal with, and between customers. A chain
is as warm as the product of its hops' strengths (each out of 100), so one
cold hop chills the whole chain; :attr:`Introduction.warmth` is that product
out of 100. Every hop carries the reasons its relationship is strong (recency,
channels, reciprocity), as :mod:`~rapport.algorithms.strength` wrote them.

The ``k`` warmest chains of at most ``max_hops`` hops are found by Yen's
algorithm (``networkx.shortest_simple_paths``) on costs ``-log(strength / 100)``,
over the only part of the graph that can hold such a chain: what the source
reaches in ``ceil(max_hops / 2)`` hops, and what reaches the target in
``floor(max_hops / 2)`` hops (a chain's first half lies in the one, its
second half in the other). Each layer is one query, the same on both
backends; relationships of strength 0 are not used.

Examples
--------
>>> for intro in await warm_introductions(store, ("User", rep_id), customer_id, k=3):  # doctest: +SKIP
...     print(intro.warmth, [(hop.target, hop.strength, hop.reasons) for hop in intro.hops])
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from itertools import islice, pairwise

from rapport.graph.types import GraphStore, Record

__all__ = ["MAX_HOPS", "MAX_K", "SOURCE_LABELS", "Hop", "Introduction", "Person", "warm_introductions"]

Person = tuple[str, str]
"""``(label, record id)`` of a ``User`` or ``Customer``."""

SOURCE_LABELS = ("User", "Customer")
MAX_K = 20
MAX_HOPS = 6
_EXAMINED = 200  # candidate chains looked at (longer ones than max_hops are skipped) before giving up

_EDGE = "RETURN a.id AS a, b.id AS b, r.strength AS strength, r.reasons AS reasons"
_FROM_SOURCE = "MATCH (a:{label} {{id: $id}})-[r:CONNECTED_TO]->(b:Customer) WHERE r.strength > 0 " + _EDGE
_OUT_OF = (
    "MATCH (a:Customer) WHERE a.id IN $ids "
    "MATCH (a)-[r:CONNECTED_TO]->(b:Customer) WHERE r.strength > 0 " + _EDGE
)
_INTO = (
    "MATCH (b:Customer) WHERE b.id IN $ids "
    "MATCH (a:Customer)-[r:CONNECTED_TO]->(b) WHERE r.strength > 0 " + _EDGE
)


@dataclass(frozen=True, slots=True)
class Hop:
    """One link of a chain: who introduces whom, how strong their relationship is, and why."""

    source: Person
    target: Person
    strength: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Introduction:
    """A chain of hops from the source to the target."""

    hops: tuple[Hop, ...]

    @property
    def warmth(self) -> float:
        """The product of the hops' strengths, out of 100 (100: every hop at full strength)."""
        return round(100.0 * math.prod(hop.strength / 100 for hop in self.hops), 4)


_Edges = dict[tuple[Person, Person], tuple[int, tuple[str, ...]]]


async def warm_introductions(
    store: GraphStore,
    source: Person,
    target_id: str,
    *,
    k: int = 3,
    max_hops: int = 3,
    timeout: float | None = None,
) -> list[Introduction]:
    """The ``k`` warmest chains from ``source`` to the customer ``target_id``, warmest first.

    Parameters
    ----------
    store
        Either backend, with ``CONNECTED_TO`` computed (``rapport strength``).
    source
        The person asking: a ``("User", id)`` or ``("Customer", id)``.
    target_id
        The customer to be introduced to.
    k, max_hops
        How many chains at most (1 to :data:`MAX_K`), of how many hops at most
        (1 to :data:`MAX_HOPS`).
    timeout
        Seconds each query may take.

    Returns
    -------
    list of Introduction
        Fewer than ``k`` (or none) when fewer chains exist; equally warm
        chains in a stable order (fewer hops, then by ids).
    """
    label = source[0]
    if label not in SOURCE_LABELS:
        raise ValueError(f"introductions start from a {' or '.join(SOURCE_LABELS)}, not a {label}")
    if not 1 <= k <= MAX_K or not 1 <= max_hops <= MAX_HOPS:
        raise ValueError(f"k must be 1 to {MAX_K} and max_hops 1 to {MAX_HOPS}, not {k} and {max_hops}")
    import networkx as nx  # here: the API serving warmIntroductions starts without networkx

    target: Person = ("Customer", target_id)
    if source == target:
        return []
    forward, backward = await asyncio.gather(
        _reach_forward(store, source, math.ceil(max_hops / 2), timeout),
        _reach_backward(store, target_id, max_hops // 2, timeout),
    )
    edges = {**forward, **backward}
    graph = nx.DiGraph()
    for (a, b), (strength, _) in sorted(edges.items()):
        graph.add_edge(a, b, cost=-math.log(strength / 100))
    if source not in graph or target not in graph or not nx.has_path(graph, source, target):
        return []
    chains = []
    for path in islice(nx.shortest_simple_paths(graph, source, target, weight="cost"), _EXAMINED):
        if len(path) - 1 <= max_hops:
            chains.append(Introduction(tuple(Hop(a, b, *edges[(a, b)]) for a, b in pairwise(path))))
            if len(chains) == k:
                break
    return sorted(chains, key=lambda c: (-c.warmth, len(c.hops), [hop.target for hop in c.hops]))


async def _reach_forward(store: GraphStore, source: Person, depth: int, timeout: float | None) -> _Edges:
    """The relationships on chains of ``depth`` hops out of ``source``."""
    label, source_id = source
    rows = await store.read(_FROM_SOURCE.format(label=label), {"id": source_id}, timeout=timeout)
    edges = _edges(rows, label, "Customer")
    frontier = {b for (_, (_, b)) in edges}
    seen = {source_id} if label == "Customer" else set()
    for _ in range(depth - 1):
        seen |= frontier
        layer = _edges(await store.read(_OUT_OF, {"ids": sorted(frontier)}, timeout=timeout))
        edges.update(layer)
        frontier = {b for (_, (_, b)) in layer} - seen
    return edges


async def _reach_backward(store: GraphStore, target_id: str, depth: int, timeout: float | None) -> _Edges:
    """The relationships between customers on chains of ``depth`` hops into ``target_id``."""
    edges: _Edges = {}
    frontier, seen = {target_id}, set()
    for _ in range(depth):
        seen |= frontier
        layer = _edges(await store.read(_INTO, {"ids": sorted(frontier)}, timeout=timeout))
        edges.update(layer)
        frontier = {a for ((_, a), _) in layer} - seen
    return edges


def _edges(rows: list[Record], source_label: str = "Customer", target_label: str = "Customer") -> _Edges:
    return {
        ((source_label, str(row["a"])), (target_label, str(row["b"]))): (
            int(row["strength"]),
            tuple(row["reasons"] or ()),
        )
        for row in rows
    }
