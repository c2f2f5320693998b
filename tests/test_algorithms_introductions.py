"""Warm introductions: the k warmest chains of people from a staff user (or a customer) to a target
customer, warmth being the product of the hops' strengths, within a hop limit, each hop with the
reasons its relationship is strong."""

from __future__ import annotations

import pytest

from rapport.algorithms.introductions import Introduction, warm_introductions
from rapport.graph.types import GraphStore
from tests.conftest import store_environment
from tests.test_cli import run

# A rep "u" and customers; customer pairs are connected both ways, as rapport strength stores them.
STAFF_LINKS = {("u", "a"): 90, ("u", "b"): 50, ("u", "e"): 0}
CUSTOMER_LINKS = {("a", "t"): 40, ("a", "c"): 80, ("c", "t"): 90, ("b", "t"): 95, ("e", "t"): 100}


def reasons(a: str, b: str) -> list[str]:
    return [f"{a} and {b} met last week", "contact goes both ways"]


@pytest.fixture
async def network(store: GraphStore) -> GraphStore:
    customers = sorted({person for pair in CUSTOMER_LINKS for person in pair})
    await store.write(
        "CREATE (:User {id: 'u', name: 'Rep'}) WITH 1 AS one UNWIND $ids AS id CREATE (:Customer {id: id})",
        {"ids": customers},
    )
    links = [{"a": a, "b": b, "s": s, "r": reasons(a, b)} for (a, b), s in STAFF_LINKS.items()]
    for (a, b), s in CUSTOMER_LINKS.items():
        links += [{"a": a, "b": b, "s": s, "r": reasons(a, b)}, {"a": b, "b": a, "s": s, "r": reasons(a, b)}]
    await store.write(
        "UNWIND $links AS l MATCH (x {id: l.a}), (y:Customer {id: l.b}) "
        "CREATE (x)-[:CONNECTED_TO {strength: l.s, reasons: l.r}]->(y)",
        {"links": links},
    )
    return store


def chains(found: list[Introduction]) -> list[tuple[float, list[str]]]:
    return [(intro.warmth, [hop.target[1] for hop in intro.hops]) for intro in found]


async def test_the_warmest_chains_come_first_and_a_cold_hop_chills_a_chain(network: GraphStore) -> None:
    found = await warm_introductions(network, ("User", "u"), "t", k=5, max_hops=3)
    assert chains(found) == [(64.8, ["a", "c", "t"]), (47.5, ["b", "t"]), (36.0, ["a", "t"])]


async def test_k_and_the_hop_limit_bound_the_chains(network: GraphStore) -> None:
    assert chains(await warm_introductions(network, ("User", "u"), "t", k=2, max_hops=3)) == [
        (64.8, ["a", "c", "t"]),
        (47.5, ["b", "t"]),
    ]
    assert chains(await warm_introductions(network, ("User", "u"), "t", k=5, max_hops=2)) == [
        (47.5, ["b", "t"]),
        (36.0, ["a", "t"]),
    ]


async def test_every_hop_says_who_introduces_whom_how_strongly_and_why(network: GraphStore) -> None:
    best = (await warm_introductions(network, ("User", "u"), "t", k=1))[0]
    assert [(hop.source, hop.target, hop.strength) for hop in best.hops] == [
        (("User", "u"), ("Customer", "a"), 90),
        (("Customer", "a"), ("Customer", "c"), 80),
        (("Customer", "c"), ("Customer", "t"), 90),
    ]
    assert best.hops[1].reasons == tuple(reasons("a", "c"))


async def test_a_customer_can_be_the_source(network: GraphStore) -> None:
    found = await warm_introductions(network, ("Customer", "a"), "t", k=3, max_hops=2)
    assert chains(found) == [(72.0, ["c", "t"]), (40.0, ["t"])]


async def test_no_chain_without_a_warm_path(network: GraphStore) -> None:
    await network.write("CREATE (:Customer {id: 'alone'})")
    assert await warm_introductions(network, ("User", "u"), "alone") == []
    assert await warm_introductions(network, ("Customer", "t"), "t") == []


async def test_bad_arguments_name_the_rule(network: GraphStore) -> None:
    with pytest.raises(ValueError, match="User or Customer"):
        await warm_introductions(network, ("Account", "x"), "t")
    with pytest.raises(ValueError, match="k must be 1 to 20"):
        await warm_introductions(network, ("User", "u"), "t", k=0)
    with pytest.raises(ValueError, match="max_hops 1 to 6"):
        await warm_introductions(network, ("User", "u"), "t", max_hops=7)


async def test_the_introductions_command_prints_the_chains_by_name(network: GraphStore) -> None:
    await network.write("MATCH (c:Customer) SET c.firstName = toUpper(c.id), c.lastName = 'Doe'")
    result = run("introductions", "t", "--from-user", "u", "--k", "2", env=store_environment(network))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "1. warmth 64.8",
        "   Rep -> A Doe (strength 90): u and a met last week; contact goes both ways",
        "   A Doe -> C Doe (strength 80): a and c met last week; contact goes both ways",
        "   C Doe -> T Doe (strength 90): c and t met last week; contact goes both ways",
    ]
    assert lines[4:] == ["2. warmth 47.5", *lines[5:7]] and len(lines) == 7
    refused = run("introductions", "t", env=store_environment(network))
    assert refused.returncode == 2 and "exactly one of --from-user and --from-customer" in refused.stderr
