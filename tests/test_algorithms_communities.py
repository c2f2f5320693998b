"""Communities: Louvain finds planted groups, deterministically with a seed, and the customer and
account communities of the demo graph become Segments whose ids survive a rerun."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import sparse

from rapport.algorithms.communities import CUSTOMER_COMMUNITIES_RULE, louvain, refresh_customer_segments
from rapport.graph.types import GraphStore


def matrix_of(graph: nx.Graph) -> sparse.csr_array:
    return sparse.csr_array(nx.to_scipy_sparse_array(graph, nodelist=sorted(graph), format="csr"))


def test_louvain_finds_two_cliques_joined_by_one_edge() -> None:
    graph = nx.union(nx.complete_graph(range(5)), nx.complete_graph(range(5, 11)))
    graph.add_edge(4, 5)
    graph.add_node(11)  # isolated: a community of its own
    labels = louvain(matrix_of(graph))
    assert labels.tolist() == [1] * 5 + [0] * 6 + [2]  # numbered by size, largest first


def test_louvain_is_deterministic_with_a_seed() -> None:
    graph = nx.planted_partition_graph(6, 20, 0.5, 0.02, seed=4)
    matrix = matrix_of(graph)
    first = louvain(matrix, seed=11)
    assert louvain(matrix, seed=11).tolist() == first.tolist()
    sizes = np.bincount(first)
    assert (np.diff(sizes) <= 0).all()  # community 0 is the largest
    planted = np.repeat(np.arange(6), 20)
    assert all(len(set(first[planted == group].tolist())) == 1 for group in range(6))


def test_louvain_needs_an_undirected_matrix() -> None:
    with pytest.raises(ValueError, match="symmetric"):
        louvain(sparse.csr_array(np.array([[0.0, 1.0], [0.0, 0.0]])))


async def segments(store: GraphStore) -> dict[str, set[tuple[str, str]]]:
    rows = await store.read(
        "MATCH (s:Segment {rule: $rule})<-[:IN_SEGMENT]-(m) "
        "RETURN s.id AS segment, collect([labels(m)[0], m.id]) AS members",
        {"rule": CUSTOMER_COMMUNITIES_RULE},
    )
    return {row["segment"]: {(label, id_) for label, id_ in row["members"]} for row in rows}


async def test_customer_communities_become_segments_that_keep_their_ids(demo_store: GraphStore) -> None:
    first = await refresh_customer_segments(demo_store, seed=3)
    written = await segments(demo_store)
    assert first.created and not first.kept and not first.retired
    assert set(written) == set(first.created)
    assert first.joined == sum(len(members) for members in written.values())
    assert all(len(members) >= 3 for members in written.values())
    assert {label for members in written.values() for label, _ in members} == {"Customer", "Account"}

    again = await refresh_customer_segments(demo_store, seed=3)
    assert (again.created, again.retired, again.joined, again.left) == ((), (), 0, 0)
    assert sorted(again.kept) == sorted(first.created)
    assert await segments(demo_store) == written


async def test_customer_communities_keep_colleagues_together(demo_store: GraphStore) -> None:
    await refresh_customer_segments(demo_store, seed=3)
    rows = await demo_store.read(
        "MATCH (c:Customer)-[w:WORKS_AT]->(a:Account) WHERE w.until IS NULL "
        "MATCH (c)-[:IN_SEGMENT]->(s:Segment {rule: $rule})<-[:IN_SEGMENT]-(a) RETURN count(c) AS together",
        {"rule": CUSTOMER_COMMUNITIES_RULE},
    )
    employed = await demo_store.read(
        "MATCH (c:Customer)-[w:WORKS_AT]->(:Account) WHERE w.until IS NULL RETURN count(c) AS n"
    )
    assert rows[0]["together"] >= 0.8 * employed[0]["n"]
