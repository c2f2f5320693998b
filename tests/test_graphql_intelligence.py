"""Relationship intelligence through GraphQL, on each backend: scores as objects with their
confidence, reasons, model and time; lookalikes through the vector index; influencers; warm
introductions with a reason per hop; community segments with their members."""

from __future__ import annotations

import datetime as dt
import math
from itertools import pairwise
from typing import Any

import networkx as nx
import pytest
import pytest_asyncio

from rapport.algorithms.communities import refresh_customer_segments
from rapport.algorithms.embeddings import embed
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.algorithms.influencers import refresh_influence
from rapport.algorithms.similarity import similar
from rapport.algorithms.strength import compute_strength
from rapport.auth.actor import Actor, Role
from rapport.demo.world import NOW_MS
from rapport.graph.types import GraphStore
from rapport.scoring.reasons import Reason
from rapport.scoring.writer import ScoreUpdate, ScoreValue, write_scores
from tests.api_client import ApiClient
from tests.test_graphql_queries import data_of, with_reads_counted


@pytest_asyncio.fixture(scope="module", autouse=True)
async def intelligence(demo_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The demo graph with what the algorithms write: strengths, embeddings, influence, segments."""
    await compute_strength(demo_store, as_of=dt.datetime.fromtimestamp(NOW_MS / 1000, dt.UTC))
    await embed(
        demo_store, TrainingConfig(dimensions=16, epochs=10, seed=5), model_dir=tmp_path_factory.mktemp("m")
    )
    await refresh_influence(demo_store)
    await refresh_customer_segments(demo_store, seed=3)


async def rows(api: ApiClient, cypher: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return await api.store.read(cypher, params or {})


SCORES = """
query($id: ID!) {
  account(id: $id) {
    churnRisk { value confidence modelVersion computedAt reasons { text contribution } }
    health: healthScore { value }
  }
}"""


async def test_scores_read_as_objects_with_confidence_reasons_model_and_time(api: ApiClient) -> None:
    account_id = (await rows(api, "MATCH (a:Account) RETURN a.id AS id ORDER BY id LIMIT 1"))[0]["id"]
    reasons = [Reason("the champion on this account left it in March", 0.71), Reason("3 urgent tickets", 0.2)]
    update = ScoreUpdate("Account", account_id, (ScoreValue("churnRisk", 0.83, 0.9, reasons),))
    at = 1_764_547_200_000  # 2025-12-01
    await write_scores(api.store, [update], model="churn-7", at=at, actor=Actor("model:test", Role.ADMIN))

    account = (await data_of(api, SCORES, {"id": f"Account:{account_id}"}))["account"]

    assert account["churnRisk"] == {
        "value": 0.83,
        "confidence": 0.9,
        "modelVersion": "churn-7",
        "computedAt": "2025-12-01T00:00:00+00:00",
        "reasons": [
            {"text": "the champion on this account left it in March", "contribution": 0.71},
            {"text": "3 urgent tickets", "contribution": 0.2},
        ],
    }
    assert account["health"] is None  # never scored


async def test_scores_still_filter_and_sort_by_their_value(api: ApiClient) -> None:
    query = """{ accounts(where: {churnRisk: {gte: 0.8}}, orderBy: [{field: churnRisk, direction: DESC}]) {
                   nodes { id churnRisk { value } } } }"""
    nodes = (await data_of(api, query))["accounts"]["nodes"]
    expected = await rows(
        api,
        "MATCH (a:Account) WHERE a.churnRisk >= 0.8 RETURN a.id AS id, a.churnRisk AS v ORDER BY v DESC, id",
    )
    assert [(n["id"], n["churnRisk"]["value"]) for n in nodes] == [
        (f"Account:{r['id']}", r["v"]) for r in expected
    ]


SIMILAR = """
query($first: Int!) {
  customers(first: $first) { nodes { id similar(k: 4) { score node { id lastName } } } }
}"""


async def test_similar_lists_the_k_nearest_records_as_the_vector_search_finds_them(api: ApiClient) -> None:
    customers = (await data_of(api, SIMILAR, {"first": 3}))["customers"]["nodes"]
    for customer in customers:
        record_id = customer["id"].removeprefix("Customer:")
        expected = await similar(api.store, "Customer", record_id, k=4)
        found = customer["similar"]
        assert [item["score"] for item in found] == pytest.approx([m.score for m in expected], abs=1e-5)
        assert {item["node"]["id"] for item in found} <= {f"Customer:{r['id']}" for r in await rows(
            api, "MATCH (c:Customer) RETURN c.id AS id")}  # fmt: skip
        assert customer["id"] not in {item["node"]["id"] for item in found}
        assert all(item["node"]["lastName"] for item in found)


async def test_similar_and_scores_are_part_of_the_one_query_of_their_root_field(api: ApiClient) -> None:
    data, counting = await with_reads_counted(
        api, "{ accounts(first: 2) { nodes { name churnRisk { value } similar(k: 2) { node { name } } } } }"
    )
    assert len(counting.reads) == 1
    assert all(len(node["similar"]) == 2 for node in data["accounts"]["nodes"])


async def test_a_similar_k_beyond_the_page_cap_is_refused_naming_the_field(api: ApiClient) -> None:
    beyond = api.settings.graphql_max_page + 1
    response = await api.post_graphql(
        f'{{ customer(id: "x") {{ similar(k: {beyond}) {{ score }} }} }}', token=api.token("admin")
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"customer.similar.k: must be between 1 and {beyond - 1}" in error["message"]


INFLUENCERS = "{ influencers(first: 5) { totalCount nodes { id influence } } }"


async def test_influencers_are_customers_by_influence_most_first(api: ApiClient) -> None:
    found = (await data_of(api, INFLUENCERS))["influencers"]
    expected = await rows(
        api,
        "MATCH (c:Customer) RETURN c.id AS id, c.influence AS influence ORDER BY influence DESC, id LIMIT 5",
    )
    assert found["nodes"] == [{"id": f"Customer:{r['id']}", "influence": r["influence"]} for r in expected]
    assert found["totalCount"] == (await rows(api, "MATCH (c:Customer) RETURN count(c) AS n"))[0]["n"]
    average = (await rows(api, "MATCH (c:Customer) RETURN avg(c.influence) AS a"))[0]["a"]
    assert average == pytest.approx(1.0, abs=1e-3)  # influence is PageRank relative to the average customer


INTRODUCTIONS = """
query($target: ID!, $source: ID) {
  warmIntroductions(target: $target, source: $source, k: 3, maxHops: 3) {
    warmth
    hops { strength reasons source { id ... on User { name } } target { id ... on Customer { lastName } } }
  }
}"""


async def strength_graph(api: ApiClient) -> nx.DiGraph:
    """Every CONNECTED_TO as read straight from the graph, for an exhaustive search."""
    graph = nx.DiGraph()
    for row in await rows(
        api,
        "MATCH (a)-[r:CONNECTED_TO]->(b) WHERE r.strength > 0 RETURN a.id AS a, b.id AS b, r.strength AS s",
    ):
        graph.add_edge(row["a"], row["b"], strength=row["s"])
    return graph


def warmest(graph: nx.DiGraph, source: str, target: str, k: int, hops: int) -> list[float]:
    """The warmths of the k warmest simple chains of at most ``hops`` hops, by trying them all."""
    warmths = [
        round(100 * math.prod(graph[a][b]["strength"] / 100 for a, b in pairwise(path)), 4)
        for path in nx.all_simple_paths(graph, source, target, cutoff=hops)
    ]
    return sorted(warmths, reverse=True)[:k]


async def a_user_two_hops_from_a_customer(api: ApiClient, graph: nx.DiGraph) -> tuple[str, str]:
    users = [r["id"] for r in await rows(api, "MATCH (u:User) RETURN u.id AS id ORDER BY id")]
    for user in users:
        if user in graph:
            far = [
                c for c, d in nx.single_source_shortest_path_length(graph, user, cutoff=2).items() if d == 2
            ]
            if far:
                return user, sorted(far)[0]
    raise AssertionError("the demo graph has no customer two hops from a staff user")


async def test_warm_introductions_are_the_warmest_chains_with_a_reason_per_hop(api: ApiClient) -> None:
    graph = await strength_graph(api)
    user, target = await a_user_two_hops_from_a_customer(api, graph)
    found = (await data_of(api, INTRODUCTIONS, {"target": f"Customer:{target}", "source": f"User:{user}"}))[
        "warmIntroductions"
    ]
    assert [intro["warmth"] for intro in found] == pytest.approx(warmest(graph, user, target, 3, 3))
    for intro in found:
        hops = intro["hops"]
        assert hops[0]["source"]["id"] == f"User:{user}" and hops[0]["source"]["name"]
        assert hops[-1]["target"]["id"] == f"Customer:{target}"
        for hop, following in pairwise(hops):
            assert hop["target"] == following["source"] | {"lastName": hop["target"]["lastName"]}
        for hop in hops:
            a, b = (hop[end]["id"].split(":", 1)[1] for end in ("source", "target"))
            assert hop["strength"] == graph[a][b]["strength"]
            assert hop["reasons"] and all(isinstance(reason, str) for reason in hop["reasons"])


async def test_warm_introductions_start_from_the_callers_own_user(api: ApiClient) -> None:
    graph = await strength_graph(api)
    user, target = await a_user_two_hops_from_a_customer(api, graph)
    response = await api.post_graphql(
        INTRODUCTIONS, {"target": f"Customer:{target}"}, token=api.token("sales", user_id=user)
    )
    found = response.json()["data"]["warmIntroductions"]
    assert found and all(intro["hops"][0]["source"]["id"] == f"User:{user}" for intro in found)


async def test_warm_introductions_without_a_source_or_user_are_refused_naming_the_field(
    api: ApiClient,
) -> None:
    response = await api.post_graphql(INTRODUCTIONS, {"target": "Customer:x"}, token=api.token("admin"))
    error = response.json()["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "warmIntroductions.source",
    )
    response = await api.post_graphql(
        INTRODUCTIONS, {"target": "Customer:x", "source": "Deal:y"}, token=api.token("admin")
    )
    assert "warmIntroductions.source: 'Deal:y' is not the global id of a User or Customer" in response.json()[
        "errors"][0]["message"]  # fmt: skip


SEGMENTS = """{
  segments(first: 100) { nodes { id name rule customers { totalCount } accounts { totalCount } } }
}"""


async def test_community_segments_are_listed_with_their_members(api: ApiClient) -> None:
    segments = (await data_of(api, SEGMENTS))["segments"]["nodes"]
    expected = await rows(
        api,
        "MATCH (s:Segment) WHERE s.rule STARTS WITH 'louvain' "
        "CALL { WITH s MATCH (c:Customer)-[:IN_SEGMENT]->(s) RETURN count(c) AS customers } "
        "CALL { WITH s MATCH (a:Account)-[:IN_SEGMENT]->(s) RETURN count(a) AS accounts } "
        "RETURN s.id AS id, customers, accounts",
    )
    assert expected
    found = {n["id"]: (n["customers"]["totalCount"], n["accounts"]["totalCount"]) for n in segments}
    assert {f"Segment:{r['id']}": (r["customers"], r["accounts"]) for r in expected}.items() <= found.items()
