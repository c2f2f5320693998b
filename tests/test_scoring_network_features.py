"""Network standing as a scoring feature: each record's influence and its community's size and churn
rate, computed over the network as it was at the example's time, never later."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.graph.types import GraphStore
from rapport.scoring.frame import Examples
from rapport.scoring.network_features import NetworkStanding, moments

T = 1_000  # the examples' time (epoch ms)
LATER = 5_000


def test_moments_are_example_times_and_each_example_takes_the_latest_not_after_it() -> None:
    as_of = np.array([50, 10, 30, 10, 90, 70, 20])
    chosen, index = moments(as_of, most=3)
    assert len(chosen) <= 3 and set(chosen.tolist()) <= set(as_of.tolist())
    assert chosen[0] == 10
    assert all(chosen[i] <= t for i, t in zip(index, as_of, strict=True))
    assert all(i == len(chosen) - 1 or chosen[i + 1] > t for i, t in zip(index, as_of, strict=True))
    few, same = moments(np.array([5, 5, 9]))
    assert few.tolist() == [5, 9] and same.tolist() == [0, 0, 1]


@pytest.fixture
async def people(store: GraphStore) -> GraphStore:
    """Two circles: a and b at the churned account X (b referred a); c, d and e at Y, d between
    c and e. f knows a only from LATER on; z joined LATER."""
    await store.write(
        "UNWIND $customers AS c CREATE (:Customer {id: c[0], createdAt: c[1]}) "
        "WITH count(*) AS made "
        "CREATE (:Account {id: 'X', status: 'churned', createdAt: 0}), "
        "(:Account {id: 'Y', status: 'active', createdAt: 0})",
        {"customers": [[name, 0] for name in "abcdef"] + [["z", LATER]]},
    )
    await store.write(
        "UNWIND $jobs AS j MATCH (c:Customer {id: j[0]}), (a:Account {id: j[1]}) "
        "CREATE (c)-[:WORKS_AT {since: 0}]->(a)",
        {"jobs": [["a", "X"], ["b", "X"], ["c", "Y"], ["d", "Y"], ["e", "Y"], ["z", "Y"]]},
    )
    await store.write(
        "UNWIND $ties AS k MATCH (x:Customer {id: k[0]}), (y:Customer {id: k[1]}) "
        "CREATE (x)-[:KNOWS {since: k[2], strength: 1.0}]->(y)",
        {"ties": [["a", "b", 10], ["c", "d", 10], ["d", "e", 10], ["f", "a", LATER]]},
    )
    await store.write(
        "MATCH (b:Customer {id: 'b'}), (a:Customer {id: 'a'}) CREATE (b)-[:REFERRED {at: 10}]->(a)"
    )
    return store


async def standing(store: GraphStore, label: str, ids: str) -> dict[str, dict[str, float]]:
    examples = Examples(label, list(ids), np.full(len(ids), T, dtype=np.int64))
    group = await NetworkStanding(label).extract(store, examples)
    return {
        id_: {name: float(values[i]) for name, values in group.values.items()} for i, id_ in enumerate(ids)
    }


async def test_a_customer_reads_its_influence_and_its_communitys_size_and_churn(people: GraphStore) -> None:
    found = await standing(people, "Customer", "abcdefz")
    assert found["b"]["influence"] > found["a"]["influence"]  # a referral is a vote for the referrer
    assert found["d"]["influence"] > max(found["c"]["influence"], found["e"]["influence"])
    assert [(found[c]["community_size"], found[c]["community_churn"]) for c in "abcde"] == [
        (2, 1.0), (2, 1.0), (3, 0.0), (3, 0.0), (3, 0.0),
    ]  # fmt: skip


async def test_nothing_after_the_examples_time_is_seen(people: GraphStore) -> None:
    found = await standing(people, "Customer", "fz")
    assert found["f"]["community_size"] == 1  # f knows a only from LATER on
    assert np.isnan(found["f"]["community_churn"])  # a community without accounts has no churn rate
    assert all(np.isnan(value) for value in found["z"].values())  # z did not exist yet


async def test_an_account_reads_its_best_connected_person_and_its_own_community(people: GraphStore) -> None:
    accounts = await standing(people, "Account", "XY")
    customers = await standing(people, "Customer", "bd")
    assert accounts["X"]["influence"] == customers["b"]["influence"]
    assert accounts["Y"]["influence"] == customers["d"]["influence"]
    assert (accounts["X"]["community_churn"], accounts["Y"]["community_churn"]) == (1.0, 0.0)
