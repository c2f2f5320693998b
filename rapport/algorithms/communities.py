"""Communities: Louvain over customers and accounts, kept as Segments.

The default projection, :data:`CUSTOMER_COMMUNITIES`, joins the people and
companies that do business together:

- ``KNOWS`` between customers, weighted by ``strength`` (0.5 where unknown);
- ``REFERRED`` between customers;
- ``WORKS_AT`` from customers to accounts, past jobs included (a former
  employee still ties the two companies together);
- shared deals: ``INVOLVES`` from a deal to its contacts and ``FOR_ACCOUNT`` to
  its account, so a deal's people and account land together. Deals are part
  of the projection but only customers and accounts become segment members.

Relationships count as undirected. :func:`refresh_customer_segments` runs the
whole cycle: project, :func:`louvain`, and :func:`~rapport.algorithms.segments.write_segments`.

Examples
--------
>>> changes = await refresh_customer_segments(store, seed=7)  # doctest: +SKIP
>>> changes.created, changes.kept, changes.retired  # doctest: +SKIP
"""

from __future__ import annotations

import random

import igraph
import numpy as np
from scipy import sparse

from rapport.algorithms.convert import to_csr
from rapport.algorithms.projection import project
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec
from rapport.algorithms.segments import SegmentChanges, write_segments
from rapport.graph.types import GraphStore

__all__ = ["CUSTOMER_COMMUNITIES", "CUSTOMER_COMMUNITIES_RULE", "louvain", "refresh_customer_segments"]

CUSTOMER_COMMUNITIES = ProjectionSpec(
    nodes=(NodeSpec("Customer"), NodeSpec("Account"), NodeSpec("Deal")),
    relationships=(
        RelationshipSpec("KNOWS", "Customer", "Customer", weight="strength", default_weight=0.5),
        RelationshipSpec("REFERRED", "Customer", "Customer"),
        RelationshipSpec("WORKS_AT", "Customer", "Account"),
        RelationshipSpec("INVOLVES", "Deal", "Customer"),
        RelationshipSpec("FOR_ACCOUNT", "Deal", "Account"),
    ),
)
"""Customers, accounts and deals, and the relationships that make them a community."""

CUSTOMER_COMMUNITIES_RULE = "louvain: KNOWS (strength), REFERRED, WORKS_AT, shared deals"
"""The ``rule`` of the Segments :func:`refresh_customer_segments` maintains."""


def louvain(
    matrix: sparse.sparray | sparse.spmatrix,
    *,
    resolution: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Louvain communities of an undirected weighted graph (igraph's multilevel algorithm, in C:
    seconds where networkx's takes minutes on a million relationships).

    Parameters
    ----------
    matrix
        Symmetric and non-negative, as :func:`~rapport.algorithms.convert.to_csr`
        makes it with ``direction="undirected"``; entries are edge weights.
    resolution
        Above 1 favours smaller communities, below 1 larger ones.
    seed
        The same seed on the same graph gives the same communities.

    Returns
    -------
    numpy.ndarray
        A community number per node: 0 for the largest community, then by
        size, ties broken by the smallest node index (so numbers do not depend
        on the algorithm's own numbering). Isolated nodes are communities of their own.

    Examples
    --------
    >>> two_pairs = sparse.csr_array(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0.]]))
    >>> louvain(two_pairs).tolist()
    [0, 0, 1, 1]
    """
    csr = sparse.csr_array(matrix)
    if csr.shape[0] != csr.shape[1]:
        raise ValueError(f"the matrix must be square, not {csr.shape}")
    if csr.nnz and (csr.data.min() < 0 or abs(csr - csr.T).max() > 1e-9 * abs(csr).max()):
        raise ValueError("Louvain needs a symmetric non-negative matrix: use to_csr(direction='undirected')")
    upper = sparse.triu(csr).tocoo()
    graph = igraph.Graph(n=csr.shape[0], edges=np.column_stack((upper.row, upper.col)).tolist())
    igraph.set_random_number_generator(random.Random(seed))  # it visits nodes in a random order
    try:
        found = graph.community_multilevel(weights=upper.data.tolist(), resolution=resolution).membership
    finally:
        igraph.set_random_number_generator(random)
    members = np.asarray(found, dtype=np.int64)
    order = np.argsort(members, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(members[order])) + 1) if len(order) else []
    ordered = sorted(groups, key=lambda c: (-len(c), c[0]))
    labels = np.empty(csr.shape[0], dtype=np.int64)
    for number, group in enumerate(ordered):
        labels[group] = number
    return labels


async def refresh_customer_segments(
    store: GraphStore,
    *,
    seed: int = 0,
    resolution: float = 1.0,
    min_size: int = 3,
) -> SegmentChanges:
    """Recompute the customer/account communities and bring their Segments up to date.

    Communities that persist keep their Segment (and its id); see
    :func:`~rapport.algorithms.segments.write_segments` for the matching.
    """
    projection = await project(store, CUSTOMER_COMMUNITIES)
    labels = louvain(to_csr(projection, direction="undirected"), resolution=resolution, seed=seed)
    return await write_segments(
        store,
        projection.node_values(labels),
        rule=CUSTOMER_COMMUNITIES_RULE,
        members=("Customer", "Account"),
        min_size=min_size,
    )
