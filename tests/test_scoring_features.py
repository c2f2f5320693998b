"""Scoring features, on each backend: extracted as of a cutoff, nothing after it leaks in; the small
lexicons that read ticket text and titles."""

from __future__ import annotations

import numpy as np
import pytest
import pytest_asyncio

from rapport.demo.seed import seed_demo
from rapport.graph.types import GraphStore
from rapport.scoring.batches import DAY_MS
from rapport.scoring.data_time import data_end
from rapport.scoring.frame import Examples, FeatureFrame, extract_frame
from rapport.scoring.lexicon import churn_intent, competitor_mention, seniority, sentiment
from rapport.scoring.targets import TARGETS, Kind

CUSTOMERS = 300


@pytest_asyncio.fixture(scope="module")
async def graph(session_store: GraphStore) -> GraphStore:
    await session_store.clear()
    await seed_demo(session_store, CUSTOMERS, seed=11)
    return session_store


async def _examples(store: GraphStore, kind: Kind, cutoff: int) -> Examples:
    eligible = {
        "churn": "MATCH (n:Account)<-[:WORKS_AT]-(:Customer)",
        "deal": "MATCH (n:Deal)-[:INVOLVES]->(:Customer) WHERE n.createdAt < $t",
        "lead": "MATCH (n:Customer {lifecycleStage: 'lead'})-[:WORKS_AT]->(:Account)",
    }[kind]
    rows = await store.read(f"{eligible} RETURN DISTINCT n.id AS id ORDER BY id LIMIT 40", {"t": cutoff})
    ids = [r["id"] for r in rows]
    return Examples(TARGETS[kind].label, ids, np.full(len(ids), cutoff, dtype=np.int64))


async def _frames(store: GraphStore, examples: dict[Kind, Examples]) -> dict[Kind, FeatureFrame]:
    return {kind: await extract_frame(store, ex, TARGETS[kind].sources) for kind, ex in examples.items()}


def _differences(a: FeatureFrame, b: FeatureFrame) -> list[str]:
    names = [c.name for c in a.columns()] + [k for g in a.groups for k in g.context]
    return [
        name
        for name in names
        if not all(
            x == y or (isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y))
            for x, y in zip(a.values(name).tolist(), b.values(name).tolist(), strict=True)
        )
    ]


async def _story(store: GraphStore, at: int, tag: str) -> None:
    """Events dated ``at`` around one account, one of its people, a lead and a deal: activities,
    a negative urgent ticket, campaign responses, a job change, a new hire, a won deal with a
    champion, KNOWS ties and a referral. Every new record's id starts with ``tag``."""
    await store.write(
        "MATCH (a:Account)<-[w:WORKS_AT]-(c:Customer) WHERE w.until IS NULL AND c.lifecycleStage <> 'lead' "
        "WITH a, c ORDER BY a.id, c.id LIMIT 1 "
        "MATCH (l:Customer {lifecycleStage: 'lead'}) WITH a, c, l ORDER BY l.id LIMIT 1 "
        "MATCH (b:Account) WHERE b.id <> a.id WITH a, c, l, b ORDER BY b.id LIMIT 1 "
        "MATCH (m:Campaign) WITH a, c, l, b, m ORDER BY m.id LIMIT 1 "
        "MATCH (e:Customer {lifecycleStage: 'evangelist'}) WITH a, c, l, b, m, e ORDER BY e.id LIMIT 1 "
        "MATCH (d:Deal)-[:INVOLVES]->(:Customer) WHERE d.createdAt < $at - 2 * 86400000 "
        "WITH DISTINCT a, c, l, b, m, e, d ORDER BY d.id LIMIT 1 "
        "CREATE (x:Activity {id: $tag + 'a', kind: 'meeting', occurredAt: $at, direction: 'inbound', "
        "  createdAt: $at})-[:RELATES_TO]->(a), (x)-[:WITH]->(c), (x)-[:WITH]->(l) "
        "CREATE (k:Ticket {id: $tag + 't', subject: 'Outage', priority: 'urgent', status: 'open', "
        "  channel: 'email', createdAt: $at, slaDueAt: $at + 1, "
        "  description: 'Broken again, we are cancelling and a competitor offered a trial'})"
        "-[:RAISED_BY]->(c), (k)-[:RAISED_BY]->(l) "
        "CREATE (m)-[:TOUCHED {kind: 'responded', channel: 'email', at: $at}]->(c), "
        "  (m)-[:TOUCHED {kind: 'converted', channel: 'email', at: $at}]->(l) "
        "CREATE (c)-[:WORKS_AT {role: 'executive', since: $at}]->(b) "
        "CREATE (h:Customer {id: $tag + 'h', firstName: 'New', lastName: 'Hire', lifecycleStage: 'customer', "
        "  createdAt: $at})-[:WORKS_AT {role: 'executive', since: $at}]->(a) "
        "CREATE (w:Deal {id: $tag + 'd', name: 'Future', stage: 'closed_won', amount: 100, currency: 'USD', "
        "  createdAt: $at, closedAt: $at})-[:FOR_ACCOUNT]->(a), "
        "  (w)-[:INVOLVES {role: 'champion', since: $at}]->(c), "
        "  (d)-[:INVOLVES {role: 'champion', since: $at}]->(l) "
        "CREATE (c)-[:KNOWS {since: $at}]->(h), (l)-[:KNOWS {since: $at}]->(e), "
        "  (e)-[:REFERRED {at: $at}]->(l)",
        {"at": at, "tag": tag},
    )


async def _forget(store: GraphStore, tag: str, at: int) -> None:
    await store.write("MATCH (n) WHERE n.id STARTS WITH $tag DETACH DELETE n", {"tag": tag})
    await store.write("MATCH ()-[r]->() WHERE r.since = $at OR r.at = $at DELETE r", {"at": at})


async def test_events_after_the_cutoff_change_no_feature(graph: GraphStore) -> None:
    cutoff = await data_end(graph) - 60 * DAY_MS
    examples = {kind: await _examples(graph, kind, cutoff) for kind in ("churn", "deal", "lead")}
    assert all(len(ex) for ex in examples.values())
    before = await _frames(graph, examples)
    later = cutoff + DAY_MS
    await _story(graph, later, "future-")
    try:
        after = await _frames(graph, examples)
    finally:
        await _forget(graph, "future-", later)
    for kind in examples:
        assert _differences(before[kind], after[kind]) == [], kind


async def test_the_same_events_before_the_cutoff_do_change_features(graph: GraphStore) -> None:
    cutoff = await data_end(graph) - 60 * DAY_MS
    examples = {kind: await _examples(graph, kind, cutoff) for kind in ("churn", "lead")}
    before = await _frames(graph, examples)
    earlier = cutoff - DAY_MS
    await _story(graph, earlier, "past-")
    try:
        after = await _frames(graph, examples)
    finally:
        await _forget(graph, "past-", earlier)
    changed = {kind: set(_differences(before[kind], after[kind])) for kind in examples}
    assert {"activities_30d", "urgent_tickets_30d", "churn_intent_tickets_90d", "deals_won"} <= changed[
        "churn"
    ]
    assert {"activities_30d", "tickets_30d", "best_engagement", "people_known", "referrals"} <= changed[
        "lead"
    ]


class _Missing:
    """A row where every value is missing: NaN for numbers, None for anything else."""

    def __init__(self, frame: FeatureFrame) -> None:
        self.frame = frame

    def __getitem__(self, name: str) -> object:
        return None if self.frame.values(name).dtype == object else float("nan")


async def test_every_column_says_its_value_in_words_even_when_missing(graph: GraphStore) -> None:
    cutoff = await data_end(graph)
    examples = {kind: await _examples(graph, kind, cutoff) for kind in ("churn", "deal", "lead")}
    for frame in (await _frames(graph, examples)).values():
        for column in frame.columns():
            sentences = [column.explain(frame.row(i)) for i in range(len(frame))]
            sentences.append(column.explain(_Missing(frame)))
            assert all(isinstance(s, str) and len(s.split()) >= 2 for s in sentences), column.name
            assert not any("nan" in s.split() for s in sentences), column.name


def test_sentiment_reads_negation_within_a_clause() -> None:
    assert sentiment("We love the product, thanks!") == 1.0
    assert sentiment("This is broken and we are frustrated.") == -1.0
    assert sentiment("I am not happy with the service") == -1.0
    assert sentiment("No problem at all") == 1.0
    assert sentiment("Not urgent, thanks for the great support") == 1.0
    assert sentiment("") == 0.0 and sentiment(None) == 0.0


def test_churn_intent_competitors_and_seniority() -> None:
    assert churn_intent("We are evaluating alternatives") and churn_intent("Please cancel our plan")
    assert not churn_intent("The export fails")
    assert competitor_mention("A competitor offered us a trial") and not competitor_mention("Thanks!")
    assert [seniority(t) for t in ("VP Sales", "IT Director", "Product Manager", "Engineer", None)] == [
        3,
        2,
        1,
        0,
        0,
    ]


@pytest.mark.parametrize("kind", ["churn", "deal", "lead"])
def test_every_target_has_tabular_and_graph_groups_with_unique_names(kind: Kind) -> None:
    sources = TARGETS[kind].sources
    names = [s.name for s in sources]
    assert len(names) == len(set(names))
    assert {s.family for s in sources} == {"tabular", "graph"}
