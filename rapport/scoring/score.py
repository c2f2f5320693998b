"""``rapport score``: the latest model of each kind scores its population and writes the scores.

- churn: active accounts get ``churnRisk`` and ``healthScore`` (``100 * (1 - churnRisk)``, rounded),
  and so do the people they employ now (customers and advocates, not leads): a customer's
  churn risk is their company's;
- deal: open deals get ``winProbability``;
- lead: customers at the ``lead`` stage get ``conversionProbability``.

Records are described as of the latest event in the graph (see
:func:`~rapport.scoring.labels.data_end`) unless a time is given.
:func:`rescore` recomputes only the scores a change can move.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rapport.auth.actor import Actor, Role
from rapport.collector import collector_paused
from rapport.graph.serial import OneQueryAtATime
from rapport.graph.types import GraphStore
from rapport.scoring.data_time import data_end
from rapport.scoring.frame import Examples, FeatureSource, extract_frame
from rapport.scoring.moment_cache import shared_by_moment
from rapport.scoring.reasons import reasons
from rapport.scoring.registry import has_model, latest_model
from rapport.scoring.targets import KINDS, TARGETS, Kind, with_sources
from rapport.scoring.writer import ScoreUpdate, ScoreValue, Written, write_scores

_ELIGIBLE: dict[Kind, str] = {
    "churn": "coalesce(n.status, 'active') = 'active'",
    "deal": "NOT n.stage IN ['closed_won', 'closed_lost']",
    "lead": "n.lifecycleStage = 'lead'",
}


@dataclass(frozen=True)
class ScoreRun:
    """One model's scoring: how many records, what was written, how long it took (from the start
    of the run: the kinds of one run score side by side)."""

    kind: Kind
    version: str
    as_of: int
    written: dict[str, Written]
    seconds: float

    def text(self) -> str:
        parts = ", ".join(f"{label} {w.records:,} ({w.events:,} moved)" for label, w in self.written.items())
        return f"{self.kind}: model {self.version} scored {parts or 'nothing'} in {self.seconds:.1f}s"


async def score(
    store: GraphStore,
    kinds: Sequence[Kind] = KINDS,
    *,
    as_of: int | None = None,
    ids: Mapping[Kind, Sequence[str]] | None = None,
    extra_sources: Sequence[FeatureSource] = (),
) -> list[ScoreRun]:
    """Score every eligible record of each kind (only those of ``ids[kind]`` when given), all as of
    one moment (so the kinds share the networks their graph features are computed over).

    The kinds run side by side, one query at a time
    (:class:`~rapport.graph.serial.OneQueryAtATime`): one kind's model and
    reasons overlap another's queries and writes. No kind's features read
    another's scores, so the order they finish in changes nothing.
    """
    at = as_of or await data_end(store)
    serial = OneQueryAtATime(store)
    with shared_by_moment(), collector_paused():
        async with asyncio.TaskGroup() as side_by_side:
            tasks = [side_by_side.create_task(_score_kind(serial, k, at, ids, extra_sources)) for k in kinds]
    return [task.result() for task in tasks]


async def _score_kind(
    store: GraphStore,
    kind: Kind,
    at: int,
    ids: Mapping[Kind, Sequence[str]] | None,
    extra_sources: Sequence[FeatureSource],
) -> ScoreRun:
    started = time.perf_counter()
    record, model = await latest_model(store, kind)
    target = with_sources(TARGETS[kind], *extra_sources)
    population = await _population(store, kind, at, None if ids is None else ids.get(kind, ()))
    updates: dict[str, list[ScoreUpdate]] = defaultdict(list)
    if population:
        examples = Examples(target.label, population, np.full(len(population), at, dtype=np.int64))
        frame = await extract_frame(store, examples, target.sources)
        predictions = await asyncio.to_thread(model.predict, frame)  # LightGBM lets go of the GIL
        for i, (id_, why) in enumerate(zip(population, reasons(frame, predictions), strict=True)):
            p, confidence = round(float(predictions.probability[i]), 4), float(predictions.confidence[i])
            values = [ScoreValue(target.field, p, confidence, why)]
            if kind == "churn":
                health = round(100 * (1 - p))
                values.append(ScoreValue("healthScore", health, confidence, [r.flipped() for r in why]))
            updates[target.label].append(ScoreUpdate(target.label, id_, tuple(values)))
        if kind == "churn":
            updates["Customer"] = await _employees(store, updates["Account"], at)
    actor = Actor(subject=f"model:{record.version}", role=Role.ADMIN)
    written = {
        label: await write_scores(store, batch, model=record.version, at=at, actor=actor)
        for label, batch in updates.items()
    }
    return ScoreRun(kind, record.version, at, written, time.perf_counter() - started)


async def _population(store: GraphStore, kind: Kind, at: int, ids: Sequence[str] | None) -> list[str]:
    label = TARGETS[kind].label
    match = f"MATCH (n:{label})" if ids is None else f"UNWIND $ids AS id MATCH (n:{label} {{id: id}})"
    rows = await store.read(
        f"{match} WITH n WHERE n.createdAt < $at AND {_ELIGIBLE[kind]} "
        "RETURN DISTINCT n.id AS id ORDER BY id",
        {"at": at, "ids": list(ids or ())},
        timeout=300.0,
    )
    return [row["id"] for row in rows]


async def _employees(store: GraphStore, accounts: Sequence[ScoreUpdate], at: int) -> list[ScoreUpdate]:
    """The account scores, given to the people each account employs at ``at`` (not leads); someone
    employed by two scored accounts gets the riskier one's."""
    by_account = {u.id: u for u in accounts}
    rows = await store.read(
        "UNWIND $ids AS id MATCH (a:Account {id: id})<-[w:WORKS_AT]-(c:Customer) "
        "WITH a, w, c WHERE coalesce(w.since, 0) < $at AND (w.until IS NULL OR w.until >= $at) "
        "AND NOT coalesce(c.lifecycleStage, '') IN ['subscriber', 'lead'] "
        "RETURN a.id AS account, c.id AS customer",
        {"ids": list(by_account), "at": at},
        timeout=300.0,
    )
    chosen: dict[str, ScoreUpdate] = {}
    for row in rows:
        update = by_account[row["account"]]
        current = chosen.get(row["customer"])
        if current is None or update.scores[0].value > current.scores[0].value:
            chosen[row["customer"]] = update
    return [ScoreUpdate("Customer", customer, update.scores) for customer, update in sorted(chosen.items())]


# For each label of a changed record: which scores it can move, and the records holding them.
_AFFECTED: dict[str, tuple[tuple[Kind, str], ...]] = {
    "Account": (
        ("churn", "MATCH (n:Account {id: id}) RETURN n.id AS id"),
        ("deal", "MATCH (:Account {id: id})<-[:FOR_ACCOUNT]-(n:Deal) RETURN n.id AS id"),
    ),
    "Customer": (
        ("lead", "MATCH (n:Customer {id: id}) RETURN n.id AS id"),
        ("churn", "MATCH (:Customer {id: id})-[:WORKS_AT]->(n:Account) RETURN n.id AS id"),
        ("deal", "MATCH (:Customer {id: id})<-[:INVOLVES]-(n:Deal) RETURN n.id AS id"),
    ),
    "Deal": (
        ("deal", "MATCH (n:Deal {id: id}) RETURN n.id AS id"),
        ("churn", "MATCH (:Deal {id: id})-[:FOR_ACCOUNT]->(n:Account) RETURN n.id AS id"),
    ),
    "Ticket": (
        ("lead", "MATCH (:Ticket {id: id})-[:RAISED_BY]->(n:Customer) RETURN n.id AS id"),
        (
            "churn",
            "MATCH (:Ticket {id: id})-[:RAISED_BY]->(:Customer)-[:WORKS_AT]->(n:Account) RETURN n.id AS id",
        ),
    ),
    "Activity": (
        ("lead", "MATCH (:Activity {id: id})-[:WITH]->(n:Customer) RETURN n.id AS id"),
        ("churn", "MATCH (:Activity {id: id})-[:RELATES_TO]->(n:Account) RETURN n.id AS id"),
        ("deal", "MATCH (:Activity {id: id})-[:RELATES_TO]->(n:Deal) RETURN n.id AS id"),
    ),
}


async def affected(store: GraphStore, changed: Mapping[str, Sequence[str]]) -> dict[Kind, list[str]]:
    """The records whose scores a change to ``changed`` (label -> ids) can move, by kind.

    Direct links only: a change reaches its account, people and deals; what it does to
    neighbours' network features waits for the next full scoring.
    """
    found: dict[Kind, set[str]] = {kind: set() for kind in KINDS}
    for label, ids in changed.items():
        for kind, cypher in _AFFECTED.get(label, ()):
            rows = await store.read(f"UNWIND $ids AS id {cypher}", {"ids": list(ids)})
            found[kind].update(row["id"] for row in rows)
    return {kind: sorted(ids) for kind, ids in found.items()}


async def rescore(
    store: GraphStore,
    changed: Mapping[str, Sequence[str]],
    *,
    as_of: int | None = None,
    extra_sources: Sequence[FeatureSource] = (),
) -> list[ScoreRun]:
    """Recompute the scores of the records touched by a change (label -> ids of changed records).

    Kinds without a trained model are skipped: there is nothing to recompute yet.
    """
    targets = await affected(store, changed)
    kinds = [kind for kind in KINDS if targets[kind] and await has_model(store, kind)]
    return await score(store, kinds, as_of=as_of, ids=targets, extra_sources=extra_sources)
