"""Influence: PageRank, personalized PageRank, degree and betweenness centrality.

PageRank and degree run on a sparse matrix (:func:`~rapport.algorithms.convert.to_csr`)
with numpy/scipy; betweenness runs in networkx on the small network of one
account's people (:func:`account_network`, :func:`key_stakeholders`).

Examples
--------
Who is influential in the referral network, and who is close to a given champion:

>>> spec = ProjectionSpec((NodeSpec("Customer"),), (RelationshipSpec("REFERRED", "Customer", "Customer"),))
>>> projection = await project(store, spec)  # doctest: +SKIP
>>> matrix = to_csr(projection)  # doctest: +SKIP
>>> projection.node_values(pagerank(matrix).scores).top(10)  # doctest: +SKIP
>>> near = projection.global_index("Customer", [champion_id])  # doctest: +SKIP
>>> pagerank(matrix, personalization=np.bincount(near, minlength=matrix.shape[0]))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import networkx as nx
import numpy as np
from scipy import sparse

from rapport.graph.types import GraphStore
from rapport.graph.values import now_millis

__all__ = [
    "ConvergenceError",
    "PageRank",
    "Stakeholder",
    "account_network",
    "degree_centrality",
    "key_stakeholders",
    "pagerank",
]


class ConvergenceError(RuntimeError):
    """The power iteration did not converge within ``max_iter`` iterations."""


@dataclass(frozen=True, slots=True)
class PageRank:
    """PageRank scores over a matrix's nodes (they sum to 1), and the iterations it took."""

    scores: np.ndarray
    iterations: int


def _square(matrix: sparse.sparray | sparse.spmatrix) -> sparse.csr_array:
    csr = sparse.csr_array(matrix)
    if csr.shape[0] != csr.shape[1]:
        raise ValueError(f"the matrix must be square, not {csr.shape}")
    if csr.nnz and csr.data.min() < 0:
        raise ValueError("relationship weights must not be negative")
    return csr


def _distribution(values: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    vector = np.asarray(values, dtype=np.float64)
    if vector.shape != (n,):
        raise ValueError(f"{name} needs one value per node ({n}), not shape {vector.shape}")
    if (vector < 0).any() or not vector.sum() > 0:
        raise ValueError(f"{name} must be non-negative with a positive sum")
    return np.asarray(vector / vector.sum())


def pagerank(
    matrix: sparse.sparray | sparse.spmatrix,
    *,
    damping: float = 0.85,
    personalization: np.ndarray | None = None,
    dangling: np.ndarray | None = None,
    tol: float = 1e-6,
    max_iter: int = 100,
) -> PageRank:
    """PageRank by power iteration; personalized when ``personalization`` is given.

    A random surfer follows an out-relationship with probability ``damping``
    (choosing among them in proportion to their weights) and otherwise jumps
    to a node drawn from ``personalization`` (uniform by default). From a node
    without out-relationships it jumps according to ``dangling`` (by default
    ``personalization``). This is networkx's ``pagerank`` definition, stopping
    rule included: iteration stops when the L1 change between two iterates
    is below ``n * tol``.

    Parameters
    ----------
    matrix
        Square, non-negative: ``matrix[i, j]`` is the weight of ``i -> j``.
    damping
        The probability of following a relationship, in ``(0, 1)``.
    personalization
        Teleport weights per node (normalized here); e.g. an indicator of
        seed customers for "influential around these people".
    dangling
        Where a surfer at a node without out-relationships goes next.
    tol, max_iter
        Convergence tolerance per node, and the iteration budget.

    Returns
    -------
    PageRank
        ``scores`` (float64, summing to 1) and the iterations used.

    Raises
    ------
    ConvergenceError
        When ``max_iter`` iterations were not enough.

    Examples
    --------
    >>> cycle = sparse.csr_array(np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float))
    >>> pagerank(cycle).scores.round(3).tolist()
    [0.333, 0.333, 0.333]
    """
    if not 0 < damping < 1:
        raise ValueError(f"damping must be in (0, 1), not {damping}")
    if tol <= 0 or max_iter < 1:
        raise ValueError("tol must be positive and max_iter at least 1")
    csr = _square(matrix)
    n = csr.shape[0]
    if n == 0:
        return PageRank(np.empty(0), 0)
    teleport = _distribution(personalization, n, "personalization")
    teleport = np.full(n, 1.0 / n) if teleport is None else teleport
    sink_jump = _distribution(dangling, n, "dangling")
    sink_jump = teleport if sink_jump is None else sink_jump

    out_weight = np.asarray(csr.sum(axis=1)).ravel()
    sinks = out_weight == 0
    share = np.divide(1.0, out_weight, out=np.zeros(n), where=~sinks)  # of a node's rank, per unit weight
    # The transpose as a CSC view: no copy, where a CSR transpose costs more than ten iterations.
    incoming = csr.T
    base = (1 - damping) * teleport
    x = np.full(n, 1.0 / n)
    for iteration in range(1, max_iter + 1):
        previous = x
        x = incoming @ (previous * share)
        x *= damping
        x += base
        x += (damping * previous[sinks].sum()) * sink_jump
        if np.abs(x - previous).sum() < n * tol:
            return PageRank(x, iteration)
    raise ConvergenceError(f"PageRank did not converge in {max_iter} iterations (tol {tol})")


def degree_centrality(
    matrix: sparse.sparray | sparse.spmatrix,
    *,
    direction: Literal["in", "out", "both"] = "both",
    weighted: bool = False,
    normalized: bool = True,
) -> np.ndarray:
    """Degree centrality of every node of ``matrix``.

    Unweighted, a node's degree counts its distinct neighbours in the given
    direction (a matrix entry, however many parallel relationships it sums);
    weighted, it sums the entries' weights. ``"both"`` adds in and out, like
    networkx's ``degree_centrality`` on a directed graph; for an undirected
    matrix (:func:`~rapport.algorithms.convert.to_csr` with
    ``direction="undirected"``) use ``"out"``. Normalized, degrees are divided
    by ``n - 1``, the most a simple graph allows.

    Examples
    --------
    >>> star = sparse.csr_array(np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]], dtype=float))
    >>> degree_centrality(star, direction="out").tolist()
    [1.0, 0.0, 0.0]
    """
    csr = _square(matrix)
    n = csr.shape[0]
    if weighted:
        out_degree = np.asarray(csr.sum(axis=1)).ravel()
        in_degree = np.asarray(csr.sum(axis=0)).ravel()
    else:
        out_degree = np.diff(csr.indptr).astype(np.float64)
        in_degree = np.bincount(csr.indices, minlength=n).astype(np.float64)
    degree = {"in": in_degree, "out": out_degree, "both": in_degree + out_degree}.get(direction)
    if degree is None:
        raise ValueError(f"direction must be in, out or both, not {direction!r}")
    return np.asarray(degree / (n - 1)) if normalized and n > 1 else degree


@dataclass(frozen=True, slots=True)
class Stakeholder:
    """A customer's place in their account's network (see :func:`key_stakeholders`)."""

    customer_id: str
    betweenness: float
    degree: float
    connections: int


async def account_network(store: GraphStore, account_id: str, *, at: int | None = None) -> nx.Graph:
    """The network of the people working at an account, for finding its key stakeholders.

    Nodes are the record ids of the customers whose ``WORKS_AT`` the account
    covers the moment ``at`` (epoch ms; now by default). Two of them are linked
    when either ``KNOWS`` the other, when both are involved in one of the
    account's deals, or when both took part in one activity (a meeting with
    several contacts). Each edge carries ``kinds`` (a set of ``"knows"``,
    ``"deal"``, ``"activity"``) and ``weight``, how many such links join them.
    """
    moment = now_millis() if at is None else at
    rows = await store.read(
        "MATCH (c:Customer)-[w:WORKS_AT]->(:Account {id: $account}) "
        "WHERE (w.since IS NULL OR w.since <= $at) AND (w.until IS NULL OR w.until > $at) "
        "RETURN collect(DISTINCT c.id) AS ids",
        {"account": account_id, "at": moment},
    )
    people = sorted(rows[0]["ids"]) if rows else []
    knows, deals, activities = await asyncio.gather(
        store.read(
            "MATCH (c:Customer)-[:KNOWS]->(o:Customer) WHERE c.id IN $ids AND o.id IN $ids "
            "RETURN [c.id, o.id] AS members",
            {"ids": people},
        ),
        store.read(
            "MATCH (:Account {id: $account})<-[:FOR_ACCOUNT]-(d:Deal)-[:INVOLVES]->(c:Customer) "
            "WHERE c.id IN $ids WITH d, collect(DISTINCT c.id) AS members RETURN members",
            {"account": account_id, "ids": people},
        ),
        store.read(
            "MATCH (x:Activity)-[:WITH]->(c:Customer) WHERE c.id IN $ids "
            "WITH x, collect(DISTINCT c.id) AS members WHERE size(members) > 1 RETURN members",
            {"ids": people},
        ),
    )
    network = nx.Graph()
    network.add_nodes_from(people)
    for kind, groups in (("knows", knows), ("deal", deals), ("activity", activities)):
        for group in groups:
            for a, b in combinations(sorted(group["members"]), 2):
                if a == b:
                    continue
                if not network.has_edge(a, b):
                    network.add_edge(a, b, kinds=set(), weight=0)
                network[a][b]["kinds"].add(kind)
                network[a][b]["weight"] += 1
    return network


def key_stakeholders(network: nx.Graph, *, top: int | None = None) -> list[Stakeholder]:
    """The people of an :func:`account_network`, most central first.

    Ranked by betweenness centrality (who bridges otherwise separate groups:
    the person a deal cannot bypass), then degree centrality (who is linked
    to most colleagues), then id. Betweenness counts hops, not weights.

    Examples
    --------
    >>> network = nx.Graph([("ada", "bob"), ("bob", "cy"), ("cy", "dee")])
    >>> [s.customer_id for s in key_stakeholders(network, top=2)]
    ['bob', 'cy']
    """
    betweenness = nx.betweenness_centrality(network)
    degree = nx.degree_centrality(network) if len(network) > 1 else dict.fromkeys(network, 0.0)
    ranked = sorted(network, key=lambda person: (-betweenness[person], -degree[person], person))
    return [
        Stakeholder(person, betweenness[person], degree[person], network.degree(person))
        for person in ranked[:top]
    ]
