"""Refreshing influence writes every customer's and records an ``updated`` event, in the same
transaction, for each customer whose influence appeared or moved by at least MIN_MOVE."""

from __future__ import annotations

from rapport.algorithms.influencers import MIN_MOVE, refresh_influence
from rapport.graph.types import GraphStore, Statement
from tests.live_api import committed_seq
from tests.outbox_state import recorded_events


async def refer(store: GraphStore, *pairs: tuple[str, str]) -> None:
    await store.write(
        "UNWIND $pairs AS p MATCH (a:Customer {id: p[0]}), (b:Customer {id: p[1]}) "
        "CREATE (a)-[:REFERRED]->(b)",
        {"pairs": [list(pair) for pair in pairs]},
    )


async def influence(store: GraphStore) -> dict[str, float]:
    rows = await store.read("MATCH (c:Customer) RETURN c.id AS id, c.influence AS influence")
    return {row["id"]: row["influence"] for row in rows}


async def test_each_customer_whose_influence_appeared_or_moved_gets_an_event(store: GraphStore) -> None:
    people = ["ann", "ben", "cat", "dan", "eve", "fox", "gus"]
    await store.write_transaction(
        [Statement("UNWIND $ids AS id CREATE (:Customer {id: id})", {"ids": people})]
    )
    await refer(store, ("ben", "ann"), ("cat", "ann"))
    start = await committed_seq(store)
    await refresh_influence(store, batch_size=3)  # three transactions, each with its events
    first = await influence(store)
    events = await recorded_events(store, start)
    assert sorted(e["ids"][0] for e in events) == sorted(people)
    assert all(e["type"] == "updated" and e["label"] == "Customer" for e in events)
    assert all(e["fields"] == {"influence": [None, first[e["ids"][0]]]} for e in events)
    assert {e["actor"] for e in events} == {"algorithm:influence"}

    start = await committed_seq(store)
    await refresh_influence(store)
    assert await recorded_events(store, start) == []  # the same network: nothing moved

    await refer(store, ("dan", "ben"))
    start = await committed_seq(store)
    await refresh_influence(store)
    after = await influence(store)
    moved = {id_ for id_ in people if abs(after[id_] - first[id_]) >= MIN_MOVE}
    assert moved  # which ones moved far enough is moved_values' business (tests/test_events_derived.py)
    events = await recorded_events(store, start)
    assert {e["ids"][0]: e["fields"]["influence"] for e in events} == {
        id_: [first[id_], after[id_]] for id_ in moved
    }
