"""Lookalikes: similar() finds the k customers or accounts nearest to one by embedding through the
vector index, the same on both backends as an exact search over the stored vectors, with a
planted duplicate first; `rapport embed` and `rapport similar` do the same from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rapport.algorithms.embeddings import embed
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.algorithms.similarity import NoEmbedding, Similar, similar
from rapport.demo.seed import seed_demo
from rapport.graph.types import GraphStore
from tests.conftest import store_environment
from tests.test_cli import run

CONFIG = TrainingConfig(dimensions=16, epochs=20, seed=11)


async def embedded_demo(store: GraphStore, model_dir: Path) -> None:
    """A small demo graph with embeddings."""
    await seed_demo(store, 60, seed=4)
    await embed(store, CONFIG, model_dir=model_dir)


async def exact_neighbours(store: GraphStore, label: str, record_id: str) -> list[Similar]:
    """Every other record by cosine similarity to ``record_id``, computed here from the stored vectors."""
    rows = await store.read(f"MATCH (n:{label}) RETURN n.id AS id, n.embedding AS embedding")
    ids = [row["id"] for row in rows]
    vectors = np.array([row["embedding"] for row in rows])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = (1 + vectors @ vectors[ids.index(record_id)]) / 2
    others = [Similar(id_, float(score)) for id_, score in zip(ids, scores, strict=True) if id_ != record_id]
    return sorted(others, key=lambda match: (-match.score, match.id))


async def busiest_customer(store: GraphStore) -> str:
    """The customer with the most relationships: its neighbourhood is unlike anyone else's."""
    rows = await store.read(
        "MATCH (c:Customer)-[r]-() RETURN c.id AS id, count(r) AS n ORDER BY n DESC, id LIMIT 1"
    )
    return str(rows[0]["id"])


@pytest.mark.parametrize("label", ["Customer", "Account"])
async def test_similar_returns_k_other_records_most_similar_first(
    store: GraphStore, tmp_path: Path, label: str
) -> None:
    await embedded_demo(store, tmp_path)
    rows = await store.read(f"MATCH (n:{label}) RETURN n.id AS id ORDER BY id")
    record_id = rows[0]["id"]
    found = await similar(store, label, record_id, k=5)
    assert len(found) == 5
    assert record_id not in {match.id for match in found}
    assert {match.id for match in found} <= {row["id"] for row in rows}
    scores = [match.score for match in found]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= score <= 1 for score in scores)


async def test_similar_agrees_with_an_exact_search_over_the_embeddings(
    store: GraphStore, tmp_path: Path
) -> None:
    """The vector index gives what a brute-force cosine search gives (scores equal, ids up to ties)."""
    await embedded_demo(store, tmp_path)
    for record_id in [row["id"] for row in await store.read("MATCH (c:Customer) RETURN c.id AS id LIMIT 5")]:
        found = await similar(store, "Customer", record_id, k=8)
        exact = await exact_neighbours(store, "Customer", record_id)
        assert [match.score for match in found] == pytest.approx([m.score for m in exact[:8]], abs=1e-5)
        exact_score = {match.id: match.score for match in exact}
        for match in found:
            assert exact_score[match.id] == pytest.approx(match.score, abs=1e-5)


async def test_a_planted_duplicate_is_the_first_lookalike(store: GraphStore, tmp_path: Path) -> None:
    await seed_demo(store, 60, seed=4)
    original = await busiest_customer(store)
    # The same person entered twice: same attributes, same employer, deals, tickets, contacts, campaigns.
    (row,) = await store.read("MATCH (c:Customer {id: $id}) RETURN c", {"id": original})
    twin = {**row["c"].properties, "id": "twin", "email": "twin@example.com"}
    await store.write("CREATE (twin:Customer) SET twin = $twin", {"twin": twin})
    relationships = await store.read(
        "MATCH (c:Customer {id: $id})-[r]-(x) "
        "RETURN type(r) AS type, labels(x)[0] AS label, x.id AS other, startNode(r) = c AS outgoing",
        {"id": original},
    )
    assert len(relationships) >= 5
    for rel in relationships:
        pattern = "(twin)-[:{type}]->(x)" if rel["outgoing"] else "(x)-[:{type}]->(twin)"
        await store.write(
            f"MATCH (twin:Customer {{id: 'twin'}}), (x:{rel['label']} {{id: $other}}) "
            f"CREATE {pattern.format(type=rel['type'])}",
            {"other": rel["other"]},
        )
    await embed(store, CONFIG, model_dir=tmp_path)
    found = await similar(store, "Customer", original, k=3)
    assert found[0].id == "twin"
    assert found[0].score > 0.9999
    assert found[1].score < found[0].score


async def test_records_without_embeddings_and_other_labels_are_refused(
    store: GraphStore, tmp_path: Path
) -> None:
    await embedded_demo(store, tmp_path)
    with pytest.raises(NoEmbedding, match="no such record"):
        await similar(store, "Customer", "nobody")
    await store.write("CREATE (:Customer {id: 'latecomer', firstName: 'Lee', lastName: 'Late'})")
    with pytest.raises(NoEmbedding, match="no embedding yet"):
        await similar(store, "Customer", "latecomer")
    with pytest.raises(ValueError, match="not 'Deal'"):
        await similar(store, "Deal", "any")
    with pytest.raises(ValueError, match="k must be"):
        await similar(store, "Customer", "latecomer", k=0)


async def test_the_cli_embeds_and_lists_lookalikes(store: GraphStore, tmp_path: Path) -> None:
    env = store_environment(store) | {"RAPPORT_DATA_DIR": str(tmp_path)}
    await seed_demo(store, 60, seed=4)
    customer = await busiest_customer(store)
    before = run("similar", "customer", customer, env=env, timeout=300)
    assert before.returncode == 1 and "no embedding yet" in before.stderr

    result = run("embed", "--dimensions", "8", "--epochs", "5", "--seed", "3", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "8-dimensional embeddings of 60 Customer" in result.stdout
    assert len(list((tmp_path / "models").glob("graphsage-*.pt"))) == 1

    result = run("similar", "Customer", customer, "--k", "3", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert [line.split("|")[3].strip() for line in result.stdout.splitlines()[3:6]] == [
        str(round(match.score, 4)) for match in await similar(store, "Customer", customer, k=3)
    ]
