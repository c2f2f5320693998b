"""Influence: PageRank (plain and personalized) agrees with networkx, degree centrality too, and
an account's key stakeholders are the people its network hinges on."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import sparse

from rapport.algorithms.convert import to_csr, to_networkx
from rapport.algorithms.influence import (
    ConvergenceError,
    account_network,
    degree_centrality,
    key_stakeholders,
    pagerank,
)
from rapport.algorithms.projection import project
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec
from rapport.graph.types import GraphStore, Statement


def random_digraph(n: int = 60, m: int = 240, seed: int = 3) -> tuple[sparse.csr_array, nx.DiGraph]:
    """A weighted directed graph with sinks, as a matrix and as the networkx graph it stands for."""
    rng = np.random.default_rng(seed)
    source, target = rng.integers(0, n, m), rng.integers(0, n - 5, m)  # the last five are sinks
    matrix = sparse.csr_array((rng.random(m), (source, target)), shape=(n, n))
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    coo = matrix.tocoo()
    graph.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    return matrix, graph


def as_array(scores: dict[int, float]) -> np.ndarray:
    return np.array([scores[i] for i in range(len(scores))])


def test_pagerank_matches_networkx_with_weights_and_sinks() -> None:
    matrix, graph = random_digraph()
    result = pagerank(matrix, tol=1e-12, max_iter=500)
    expected = as_array(nx.pagerank(graph, tol=1e-12, max_iter=500))
    assert np.allclose(result.scores, expected, rtol=0, atol=1e-10)
    assert result.scores.sum() == pytest.approx(1.0)
    assert 1 < result.iterations < 500


def test_personalized_pagerank_matches_networkx() -> None:
    matrix, graph = random_digraph()
    seeds = {2: 1.0, 7: 3.0}
    teleport = np.zeros(matrix.shape[0])
    teleport[list(seeds)] = list(seeds.values())
    sinks = np.ones(matrix.shape[0])
    result = pagerank(matrix, damping=0.7, personalization=teleport, dangling=sinks, tol=1e-12, max_iter=500)
    expected = nx.pagerank(
        graph, alpha=0.7, personalization=seeds, dangling=dict.fromkeys(graph, 1.0), tol=1e-12, max_iter=500
    )
    assert np.allclose(result.scores, as_array(expected), rtol=0, atol=1e-10)


def test_pagerank_stops_at_networkx_s_tolerance_and_says_when_it_cannot() -> None:
    matrix, graph = random_digraph()
    assert np.allclose(pagerank(matrix).scores, as_array(nx.pagerank(graph)), rtol=0, atol=1e-9)
    with pytest.raises(ConvergenceError, match="did not converge in 2 iterations"):
        pagerank(matrix, tol=1e-15, max_iter=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"damping": 1.0}, "damping"),
        ({"tol": 0}, "tol"),
        ({"personalization": np.ones(3)}, "one value per node"),
        ({"personalization": np.zeros(4)}, "positive sum"),
    ],
)
def test_pagerank_refuses_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pagerank(sparse.csr_array(np.eye(4)), **kwargs)  # type: ignore[arg-type]


def test_pagerank_refuses_negative_weights_and_non_square_matrices() -> None:
    with pytest.raises(ValueError, match="negative"):
        pagerank(sparse.csr_array(np.array([[0.0, -1.0], [1.0, 0.0]])))
    with pytest.raises(ValueError, match="square"):
        pagerank(sparse.csr_array(np.ones((2, 3))))
    assert pagerank(sparse.csr_array((0, 0))).scores.tolist() == []


def test_degree_centrality_matches_networkx() -> None:
    matrix, graph = random_digraph()
    assert np.allclose(degree_centrality(matrix), as_array(nx.degree_centrality(graph)))
    assert np.allclose(degree_centrality(matrix, direction="in"), as_array(nx.in_degree_centrality(graph)))
    assert np.allclose(degree_centrality(matrix, direction="out"), as_array(nx.out_degree_centrality(graph)))
    strength = degree_centrality(matrix, direction="out", weighted=True, normalized=False)
    assert np.allclose(strength, as_array(dict(graph.out_degree(weight="weight"))))


REFERRALS = ProjectionSpec((NodeSpec("Customer"),), (RelationshipSpec("REFERRED", "Customer", "Customer"),))


async def test_pagerank_of_a_projected_referral_network_names_the_most_referred(store: GraphStore) -> None:
    # r4 and r5 referred r1; r1, r2 and r3 referred hub; hub referred r6, where the chain ends.
    referrals = [["r1", "hub"], ["r2", "hub"], ["r3", "hub"], ["r4", "r1"], ["r5", "r1"], ["hub", "r6"]]
    people = ["hub", "r1", "r2", "r3", "r4", "r5", "r6"]
    await store.write_transaction([
        Statement("UNWIND $ids AS id CREATE (:Customer {id: id})", {"ids": people}),
        Statement(
            "UNWIND $pairs AS p MATCH (a:Customer {id: p[0]}), (b:Customer {id: p[1]}) "
            "CREATE (a)-[:REFERRED]->(b)",
            {"pairs": referrals},
        ),
    ])  # fmt: skip
    projection = await project(store, REFERRALS)
    ranked = projection.node_values(pagerank(to_csr(projection)).scores)
    expected = nx.pagerank(to_networkx(projection))
    assert [node for _, node, _ in ranked.top(3)] == [
        key[1] for key in sorted(expected, key=lambda k: (-expected[k], k))[:3]
    ]
    assert ranked.top(1)[0][1] == "r6"  # hub passes all its rank on to r6
    near_r4 = projection.node_values(
        pagerank(to_csr(projection), personalization=np.isin(projection.ids("Customer").ids, ["r4"])).scores
    )
    assert [node for _, node, _ in near_r4.top(2)] == ["r4", "r1"]


async def account_with_people(store: GraphStore) -> None:
    """Account acme: ana and bo know each other, bo and cy share a deal, cy and di a meeting;
    ed left acme last year, fay works elsewhere but knows ana."""
    now = 10**13
    await store.write_transaction([
        Statement("CREATE (:Account {id: 'acme'}), (:Account {id: 'other'})"),
        Statement(
            "UNWIND $ids AS id CREATE (:Customer {id: id})", {"ids": ["ana", "bo", "cy", "di", "ed", "fay"]}
        ),
        Statement(
            "UNWIND $jobs AS j MATCH (c:Customer {id: j[0]}), (a:Account {id: j[1]}) "
            "CREATE (c)-[w:WORKS_AT {since: 0}]->(a) SET w.until = j[2]",
            {"jobs": [["ana", "acme", None], ["bo", "acme", None], ["cy", "acme", None], ["di", "acme", now],
                      ["ed", "acme", 1000], ["fay", "other", None]]},
        ),
        Statement(
            "MATCH (ana:Customer {id: 'ana'}), (bo:Customer {id: 'bo'}), (fay:Customer {id: 'fay'}) "
            "CREATE (ana)-[:KNOWS]->(bo), (bo)-[:KNOWS]->(ana), (fay)-[:KNOWS]->(ana)"
        ),
        Statement(
            "MATCH (a:Account {id: 'acme'}), (bo:Customer {id: 'bo'}), (cy:Customer {id: 'cy'}), "
            "(ed:Customer {id: 'ed'}) "
            "CREATE (d:Deal {id: 'd1'})-[:FOR_ACCOUNT]->(a), (d)-[:INVOLVES]->(bo), (d)-[:INVOLVES]->(cy), "
            "(d)-[:INVOLVES]->(ed)"
        ),
        Statement(
            "MATCH (cy:Customer {id: 'cy'}), (di:Customer {id: 'di'}) "
            "CREATE (x:Activity {id: 'm1'})-[:WITH]->(cy), (x)-[:WITH]->(di)"
        ),
    ])  # fmt: skip


async def test_an_account_network_links_its_current_people_by_knows_deals_and_activities(
    store: GraphStore,
) -> None:
    await account_with_people(store)
    network = await account_network(store, "acme", at=5000)
    assert sorted(network.nodes) == ["ana", "bo", "cy", "di"]  # ed left, fay works elsewhere
    assert network["ana"]["bo"] == {"kinds": {"knows"}, "weight": 2}  # known both ways
    assert network["bo"]["cy"]["kinds"] == {"deal"}
    assert network["cy"]["di"]["kinds"] == {"activity"}
    assert sorted(await account_network(store, "acme", at=2 * 10**13)) == ["ana", "bo", "cy"]  # di left


async def test_key_stakeholders_are_the_people_the_network_hinges_on(store: GraphStore) -> None:
    await account_with_people(store)
    stakeholders = key_stakeholders(await account_network(store, "acme", at=5000))
    assert [s.customer_id for s in stakeholders] == ["bo", "cy", "ana", "di"]  # a path ana-bo-cy-di
    assert stakeholders[0].betweenness == pytest.approx(2 / 3)
    assert stakeholders[0].connections == 2
    assert key_stakeholders(nx.Graph(), top=3) == []
