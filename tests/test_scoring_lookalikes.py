"""Lookalikes as a scoring feature: the share of the records most like one (by GNN embedding) that
had the outcome by then, from a model that never saw the graph after the examples' time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rapport.algorithms.embeddings import embed
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.demo.seed import seed_demo
from rapport.graph.types import GraphStore
from rapport.scoring.data_time import data_end
from rapport.scoring.frame import Examples
from rapport.scoring.lookalike_features import Lookalikes, embedding_model, neighbour_share

SMALL = TrainingConfig(dimensions=8, hidden=16, epochs=3, seed=3)


def unit(*rows: tuple[float, float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_share_counts_the_nearest_others_with_the_outcome() -> None:
    ids = ["a", "b", "c", "d", "e"]
    vectors = unit((1, 0), (0.99, 0.1), (0.98, 0.2), (0, 1), (0.1, 0.99))
    outcome = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    share = neighbour_share(["a", "d", "new"], ids, vectors, outcome, neighbours=2)
    assert share[0] == 1.0  # b and c, not a itself
    assert share[1] == 0.5  # e, then c, the closest of the other cluster
    assert np.isnan(share[2])  # not embedded: nothing to compare


async def test_accounts_get_the_share_of_their_lookalikes_that_had_churned(store: GraphStore) -> None:
    await seed_demo(store, 60, seed=5)
    moment = await data_end(store)
    rows = await store.read("MATCH (a:Account) RETURN a.id AS id ORDER BY id")
    examples = Examples("Account", [r["id"] for r in rows], np.full(len(rows), moment, dtype=np.int64))
    group = await Lookalikes("Account", config=SMALL).extract(store, examples)
    share = group.values["lookalikes_with_outcome"]
    assert len(share) == len(rows) and np.all((share >= 0) & (share <= 1))
    churned = await store.read("MATCH (a:Account {status: 'churned'}) RETURN count(a) AS n")
    assert (share.max() > 0) == (churned[0]["n"] > 0)


async def test_the_stored_model_serves_only_moments_it_did_not_precede(
    store: GraphStore, tmp_path: Path
) -> None:
    await seed_demo(store, 60, seed=5)
    stored = await embed(store, SMALL, model_dir=tmp_path)
    end = await data_end(store)
    assert (await embedding_model(store, end, SMALL)).version == stored.version  # scoring: nothing came after
    earlier = await embedding_model(store, end - 90 * 86_400_000, SMALL)
    assert earlier.version != stored.version  # it saw the graph after that moment: one is trained as of it
