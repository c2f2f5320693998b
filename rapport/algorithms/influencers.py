"""Influencers: every customer's PageRank in the network of who knows and who referred whom,
written to the customer as ``influence``.

The network (:data:`INFLUENCE_NETWORK`) joins customers by

- ``KNOWS``, both ways, weighted by its ``strength`` (0.5 where unknown): acquaintance
  passes influence in either direction;
- ``REFERRED``, from the referred customer to the referrer, weighted by
  ``referral_weight``: a referral is a vote for the person who made it.

``influence`` is the PageRank scaled by the number of customers, so 1 is the
average customer and 5 five times the average; ``influenceAt`` says when it
was computed. Like scores, it is derived data: writing it changes neither
``version`` nor ``updatedAt``, and a customer whose influence moved by at
least :data:`MIN_MOVE` (or was computed for the first time) gets an
``updated`` change event in the same transaction. The GraphQL ``influencers``
field lists customers by it.

Examples
--------
>>> report = await refresh_influence(store)  # doctest: +SKIP
>>> report.top[:3]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapport.algorithms.convert import to_csr
from rapport.algorithms.influence import pagerank
from rapport.algorithms.projection import Projection, project
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec
from rapport.auth.actor import Actor, Role
from rapport.events.derived import write_derived
from rapport.graph.types import GraphStore, Statement
from rapport.graph.values import now_millis

__all__ = [
    "INFLUENCE_NETWORK",
    "MIN_MOVE",
    "REFERRAL_WEIGHT",
    "InfluenceReport",
    "customer_influence",
    "refresh_influence",
]

REFERRAL_WEIGHT = 2.0
"""What a referral counts for the referrer, next to a ``KNOWS`` of strength 1."""

MIN_MOVE = 0.01
"""The least change of a customer's influence (1 is the average customer's) that makes an event."""

_ACTOR = Actor(subject="algorithm:influence", role=Role.ADMIN)  # what the events name as their actor

_KNOWS = RelationshipSpec("KNOWS", "Customer", "Customer", weight="strength", default_weight=0.5)
_REFERRED = RelationshipSpec("REFERRED", "Customer", "Customer")
INFLUENCE_NETWORK = ProjectionSpec(nodes=(NodeSpec("Customer"),), relationships=(_KNOWS, _REFERRED))
"""Every customer, and the ``KNOWS`` and ``REFERRED`` relationships between them."""


@dataclass(frozen=True, slots=True)
class InfluenceReport:
    """What :func:`refresh_influence` wrote: how many customers, when, and the ten most influential
    as ``(customer id, influence)``."""

    customers: int
    computed_at: int
    top: tuple[tuple[str, float], ...]


def customer_influence(
    projection: Projection, *, damping: float = 0.85, referral_weight: float = REFERRAL_WEIGHT
) -> np.ndarray:
    """The influence of every customer of ``projection`` (in its dense order), over its ``KNOWS``
    and ``REFERRED`` relationships; other labels in the projection take no part."""
    if referral_weight < 0:
        raise ValueError("referral_weight must not be negative")
    start = projection.offsets["Customer"]
    customers = slice(start, start + len(projection.ids("Customer")))
    knows = to_csr(projection, edge_types=[_KNOWS.edge_type], direction="undirected")
    referrals = to_csr(projection, edge_types=[_REFERRED.edge_type], direction="reverse")
    network = (knows + referral_weight * referrals)[customers, customers]
    return np.asarray(pagerank(network, damping=damping).scores * network.shape[0])


async def refresh_influence(
    store: GraphStore,
    *,
    damping: float = 0.85,
    referral_weight: float = REFERRAL_WEIGHT,
    batch_size: int = 5_000,
) -> InfluenceReport:
    """Compute every customer's influence and write it, one transaction per batch of customers."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    projection = await project(store, INFLUENCE_NETWORK)
    scores = customer_influence(projection, damping=damping, referral_weight=referral_weight)
    influence = projection.node_values(scores)
    at = now_millis()
    values = {
        str(id_): round(float(value), 6) for id_, value in zip(influence.ids, influence.values, strict=True)
    }
    ids = list(values)
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        await write_derived(
            store,
            Statement(
                "UNWIND $rows AS row MATCH (c:Customer {id: row.id}) "
                "SET c.influence = row.influence, c.influenceAt = $at",
                {"rows": [{"id": id_, "influence": values[id_]} for id_ in batch], "at": at},
            ),
            "Customer",
            {id_: {"influence": values[id_]} for id_ in batch},
            lambda _: MIN_MOVE,
            _ACTOR,
        )
    top = tuple((id_, value) for _, id_, value in influence.top(10))
    return InfluenceReport(len(values), at, top)
