"""The demo graph: reproducible, valid against the model, carrying learnable planted truth."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest

from rapport.demo.emit import DemoEmitter
from rapport.demo.seed import SeedError, seed_demo
from rapport.demo.world import NOW_MS, DemoWorld
from rapport.graph.types import GraphStore
from rapport.schema.model import SYSTEM_FIELDS
from rapport.schema.validation import Schema
from rapport.scoring.lexicon import competitor_mention

CUSTOMERS = 400


def expected_fingerprint(customers: int, seed: int) -> dict[str, object]:
    """What the graph must hold, computed from the generator alone."""
    emitter = DemoEmitter(DemoWorld(customers, seed), batch_size=97)
    labels: Counter[str] = Counter()
    ids: list[str] = []
    amount = 0
    for batch in emitter.nodes():
        labels[batch.label] += len(batch)
        if batch.label == "Customer":
            ids.extend(batch.columns["id"])
        if batch.label == "Deal":
            amount += sum(batch.columns["amount"])
    types: Counter[str] = Counter()
    for rel in emitter.relationships():
        types[rel.type] += len(rel)
    return {"labels": dict(labels), "types": dict(types), "customers": _digest(ids), "amount": amount}


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


async def stored_fingerprint(store: GraphStore) -> dict[str, object]:
    labels = await store.read(
        "MATCH (n) WHERE NOT n:_Migration AND NOT n:_MigrationLock "
        "RETURN labels(n)[0] AS label, count(*) AS n"
    )
    types = await store.read("MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n")
    ids = await store.read("MATCH (c:Customer) RETURN c.id AS id")
    amount = await store.read("MATCH (d:Deal) RETURN sum(d.amount) AS total")
    return {
        "labels": {r["label"]: r["n"] for r in labels},
        "types": {r["type"]: r["n"] for r in types},
        "customers": _digest([r["id"] for r in ids]),
        "amount": int(amount[0]["total"]),
    }


async def test_the_same_seed_gives_the_same_graph(store: GraphStore) -> None:
    report = await seed_demo(store, CUSTOMERS, seed=11, batch_size=500)
    assert await stored_fingerprint(store) == expected_fingerprint(CUSTOMERS, 11)
    assert report.nodes == sum(expected_fingerprint(CUSTOMERS, 11)["labels"].values())  # type: ignore[union-attr]


async def test_a_populated_graph_is_only_replaced_on_request(store: GraphStore) -> None:
    await seed_demo(store, 50, seed=1)
    with pytest.raises(SeedError, match="--reset"):
        await seed_demo(store, 50, seed=2)
    await seed_demo(store, 60, seed=2, reset=True)
    assert await store.read("MATCH (c:Customer) RETURN count(c) AS n") == [{"n": 60}]


def test_different_seeds_give_different_graphs() -> None:
    assert expected_fingerprint(100, 1) != expected_fingerprint(100, 2)


def test_every_generated_node_and_relationship_obeys_the_model() -> None:
    schema = Schema()
    emitter = DemoEmitter(DemoWorld(300, 5), batch_size=1000)
    for batch in emitter.nodes():
        if batch.label == "_Truth":
            continue
        names = [name for name in batch.columns if name not in SYSTEM_FIELDS]
        for row in zip(*(batch.columns[name] for name in names), strict=True):
            schema.validate_node(batch.label, dict(zip(names, row, strict=True)))
    for rel in emitter.relationships():
        names = list(rel.columns)
        for row in zip(*(rel.columns[name] for name in names), strict=True):
            schema.validate_relationship(
                rel.type, rel.source_label, rel.target_label, dict(zip(names, row, strict=True))
            )


def test_planted_drivers_move_the_outcomes() -> None:
    world = DemoWorld(20_000, 3)
    churn = world.churned
    assert 0.1 < churn.mean() < 0.5  # noisy, neither rare nor certain
    assert churn[world.champion_left].mean() > churn[~world.champion_left].mean() + 0.1
    assert churn[world.disengaged].mean() > churn[~world.disengaged].mean() + 0.1
    exposed = (world.exposure > 0.2) & ~world.competitor_seed
    assert churn[exposed].mean() > churn[world.exposure == 0].mean() + 0.1  # reachable only via KNOWS
    won = world.deal_won
    assert won[world.deal_has_champion].mean() > won[~world.deal_has_champion].mean() + 0.1
    assert won[world.deal_fit].mean() > won[~world.deal_fit].mean() + 0.1
    leads = world.leads
    responded = np.isin(leads, world.touch_customer[world.touch_kind == 3])
    assert (
        world.lead_converted[leads][responded].mean() > world.lead_converted[leads][~responded].mean() + 0.1
    )


def test_only_tickets_at_competitor_seed_accounts_name_a_competitor() -> None:
    """The competitor's pull is visible in ticket text at its seed accounts, and nowhere else, so an
    account's exposure to it (through KNOWS) can be read from its neighbours' tickets."""
    world = DemoWorld(3_000, 5)
    texts = [
        text
        for batch in DemoEmitter(world, 1_000).nodes()
        if batch.label == "Ticket"
        for text in batch.columns["description"]
    ]
    naming = np.array([competitor_mention(text) for text in texts])
    assert naming.any()
    np.testing.assert_array_equal(naming, world.tix_competitor & world.tix_negative)


async def test_the_truth_is_recorded_and_its_signals_are_observable(store: GraphStore) -> None:
    await seed_demo(store, 3000, seed=9)
    kinds = await store.read("MATCH (t:_Truth) RETURN t.kind AS kind, count(*) AS n ORDER BY kind")
    assert [k["kind"] for k in kinds] == ["account_churn", "deal_win", "lead_conversion"]
    # A champion who left recently is visible as a WORKS_AT with `until`; those accounts churn more.
    recently_left = store.dialect.count_pattern("(a)<-[w:WORKS_AT]-(:Customer) WHERE w.until > $recent")
    rows = await store.read(
        "MATCH (t:_Truth {kind: 'account_churn'}) MATCH (a:Account {id: t.entityId}) "
        f"WITH t, {recently_left} > 0 AS championLeft "
        "RETURN championLeft, avg(CASE WHEN t.outcome THEN 1.0 ELSE 0.0 END) AS churnRate",
        {"recent": NOW_MS - 130 * 86_400_000},
    )
    rate = {r["championLeft"]: r["churnRate"] for r in rows}
    assert rate[True] > rate[False] + 0.1
    reasons = await store.read(
        "MATCH (t:_Truth {kind: 'account_churn', outcome: true}) RETURN t.reasons AS reasons LIMIT 20"
    )
    assert all(isinstance(r["reasons"], list) for r in reasons)
    assert any("champion_left" in r["reasons"] or "falling_engagement" in r["reasons"] for r in reasons)
