"""GNN embeddings: a heterogeneous GraphSAGE trained by link prediction embeds customers and
accounts deterministically; the vectors are written to the nodes with their model version and
indexed for vector search on both backends, and the model is recorded in the graph and on disk."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.nn import HeteroConv, SAGEConv

from rapport.algorithms.embedding_store import EMBEDDED_LABELS, NoModel, vector_index
from rapport.algorithms.embeddings import EmbeddingModel, EmbeddingReport, embed
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.algorithms.gnn_features import FEATURES, embedding_spec
from rapport.algorithms.gnn_model import HeteroSAGE, message_adjacency
from rapport.algorithms.projection import Projection, project
from rapport.demo.seed import seed_demo
from rapport.graph.types import GraphStore

SMALL = TrainingConfig(dimensions=16, epochs=10, seed=5)


async def small_demo(store: GraphStore, customers: int = 40) -> Projection:
    """A small seeded demo graph in ``store``, and its embedding projection."""
    await seed_demo(store, customers, seed=3)
    return await project(store, embedding_spec())


async def stored_vectors(
    store: GraphStore, label: str
) -> dict[str, tuple[list[float], str | None, int | None]]:
    rows = await store.read(
        f"MATCH (n:{label}) RETURN n.id AS id, n.embedding AS embedding, "
        "n.embeddingModel AS model, n.embeddingAt AS at"
    )
    return {row["id"]: (row["embedding"], row["model"], row["at"]) for row in rows}


async def test_the_same_seed_gives_the_same_embeddings_and_another_seed_others(store: GraphStore) -> None:
    projection = await small_demo(store)
    first = EmbeddingModel.train(projection, SMALL).embed(projection)
    again = EmbeddingModel.train(projection, SMALL).embed(projection)
    other = EmbeddingModel.train(projection, TrainingConfig(dimensions=16, epochs=10, seed=6)).embed(
        projection
    )
    for label in EMBEDDED_LABELS:
        assert first[label].shape == (len(projection.ids(label)), 16)
        assert np.array_equal(first[label], again[label])
        assert not np.allclose(first[label], other[label])


async def test_training_lowers_the_link_prediction_loss(store: GraphStore) -> None:
    projection = await small_demo(store)
    losses = EmbeddingModel.train(projection, TrainingConfig(epochs=40, seed=1)).info["losses"]
    assert len(losses) == 40
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


async def test_training_on_a_small_graph_is_fast(store: GraphStore) -> None:
    projection = await small_demo(store, customers=100)
    started = time.perf_counter()
    EmbeddingModel.train(projection, TrainingConfig())  # the default 30 epochs, 64 dimensions
    assert time.perf_counter() - started < 30  # about 1 s on 2 idle CPU cores


async def test_embed_writes_unit_vectors_with_the_model_version_to_every_customer_and_account(
    store: GraphStore, tmp_path: Path
) -> None:
    projection = await small_demo(store)
    report = await embed(store, SMALL, model_dir=tmp_path)
    assert report.embedded == {label: len(projection.ids(label)) for label in EMBEDDED_LABELS}
    assert report.version.startswith("graphsage-") and report.dimensions == 16
    for label in EMBEDDED_LABELS:
        stored = await stored_vectors(store, label)
        assert len(stored) == len(projection.ids(label))
        for vector, model, at in stored.values():
            assert len(vector) == 16
            assert abs(np.linalg.norm(vector) - 1) < 1e-5
            assert model == report.version
            assert at is not None


async def test_the_model_is_recorded_in_the_graph_and_its_file_reproduces_the_vectors(
    store: GraphStore, tmp_path: Path
) -> None:
    projection = await small_demo(store)
    report = await embed(store, SMALL, model_dir=tmp_path)
    rows = await store.read("MATCH (m:_Model {kind: 'embedding'}) RETURN m")
    assert len(rows) == 1
    model = rows[0]["m"].properties
    assert model["version"] == report.version
    assert (model["dimensions"], model["seed"], model["epochs"]) == (16, 5, 10)
    assert model["labels"] == list(EMBEDDED_LABELS)
    assert Path(model["file"]) == report.model_file == tmp_path / f"{report.version}.pt"
    vectors = EmbeddingModel.load(report.model_file).embed(projection)
    stored = await stored_vectors(store, "Customer")
    for index, record_id in enumerate(projection.ids("Customer").ids.tolist()):
        assert np.allclose(stored[record_id][0], vectors["Customer"][index], atol=1e-6)


async def test_embeddings_are_found_by_vector_search(store: GraphStore, tmp_path: Path) -> None:
    await small_demo(store)
    await embed(store, SMALL, model_dir=tmp_path)
    for label in EMBEDDED_LABELS:
        record_id, (vector, _, _) = sorted((await stored_vectors(store, label)).items())[0]
        call = store.dialect.vector_nodes(vector_index(label), label, "embedding")
        rows = await store.read(f"{call} RETURN node.id AS id, score", {"k": 3, "vector": vector})
        assert len(rows) == 3
        best = max(rows, key=lambda row: row["score"])
        assert best["id"] == record_id and best["score"] > 0.9999


async def test_a_new_size_of_embeddings_is_searched_at_its_size(store: GraphStore, tmp_path: Path) -> None:
    await small_demo(store)
    await embed(store, SMALL, model_dir=tmp_path)
    wider = await embed(store, TrainingConfig(dimensions=24, epochs=5, seed=5), model_dir=tmp_path)
    assert wider.dimensions == 24
    record_id, (vector, model, _) = sorted((await stored_vectors(store, "Customer")).items())[0]
    assert len(vector) == 24 and model == wider.version
    call = store.dialect.vector_nodes(vector_index("Customer"), "Customer", "embedding")
    rows = await store.read(f"{call} RETURN node.id AS id, score", {"k": 1, "vector": vector})
    assert rows[0]["id"] == record_id


async def test_reusing_the_model_embeds_records_created_since_in_the_same_space(
    store: GraphStore, tmp_path: Path
) -> None:
    await small_demo(store)
    trained = await embed(store, SMALL, model_dir=tmp_path)
    await store.write(
        "MATCH (a:Account) WITH a ORDER BY a.id LIMIT 1 "
        "CREATE (:Customer {id: 'newcomer', firstName: 'Nia', lastName: 'New'})-[:WORKS_AT]->(a)"
    )
    reused = await embed(store, SMALL, model_dir=tmp_path, retrain=False)
    assert reused.version == trained.version and reused.loss is None
    vector, model, _ = (await stored_vectors(store, "Customer"))["newcomer"]
    assert len(vector) == 16 and model == trained.version
    assert len(await store.read("MATCH (m:_Model) RETURN m.version")) == 1  # nothing new was trained


async def test_reusing_a_model_needs_one(store: GraphStore, tmp_path: Path) -> None:
    await small_demo(store)
    with pytest.raises(NoModel, match="train one first"):
        await embed(store, SMALL, model_dir=tmp_path, retrain=False)


async def test_as_of_embeds_the_graph_as_it_was_and_drops_vectors_of_later_records(
    store: GraphStore, tmp_path: Path
) -> None:
    projection = await small_demo(store)
    await embed(store, SMALL, model_dir=tmp_path)
    rows = await store.read("MATCH (c:Customer) RETURN c.createdAt AS at ORDER BY at")
    cutoff = rows[len(rows) // 2]["at"]
    report: EmbeddingReport = await embed(store, SMALL, model_dir=tmp_path, as_of=cutoff)
    earlier = await store.read(
        "MATCH (c:Customer) WHERE c.createdAt < $cutoff RETURN c.id AS id", {"cutoff": cutoff}
    )
    assert report.embedded["Customer"] == len(earlier) < len(projection.ids("Customer"))
    stored = await stored_vectors(store, "Customer")
    assert {id_ for id_, (vector, _, _) in stored.items() if vector is not None} == {r["id"] for r in earlier}
    assert (
        await store.read("MATCH (m:_Model {version: $v}) RETURN m.asOf AS at", {"v": report.version})
    ) == [{"at": cutoff}]


def test_outcomes_the_scoring_models_predict_are_not_features() -> None:
    outcomes = {
        "Deal": {"stage", "probability", "winProbability"},
        "Account": {"status", "churnRisk", "healthScore"},
        "Customer": {"lifecycleStage", "churnRisk", "healthScore", "conversionProbability"},
    }
    for label, fields in outcomes.items():
        used = set(FEATURES[label].quantities) | set(FEATURES[label].categories)
        assert not used & fields
    spec = embedding_spec()
    assert set(spec.labels) == {"Customer", "Account", "Deal", "Ticket", "Campaign", "Product", "User"}
    assert "CONNECTED_TO" not in {rel.type for rel in spec.relationships}  # computed, not observed


def test_a_config_that_cannot_train_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TrainingConfig(dimensions=0)
    with pytest.raises(ValueError, match="supervision"):
        TrainingConfig(supervision=1.0)


def test_a_layer_computes_what_pyg_heteroconv_of_sageconv_computes() -> None:
    """The sparse-matrix layer is GraphSAGE (mean aggregator) as PyTorch Geometric defines it."""
    torch.manual_seed(0)
    sizes = {"Customer": 5, "Account": 3}
    works_at = ("Customer", "WORKS_AT", "Account")
    edges = np.array([[0, 1, 1, 2, 4, 4], [0, 0, 1, 2, 2, 2]])  # parallel 4 -> 2; customer 3 has none
    model = HeteroSAGE(dict.fromkeys(sizes, 4), [works_at], hidden=8, dimensions=8, layers=1)
    (layer,) = model.layers
    h = {label: torch.randn(n, 8) for label, n in sizes.items()}
    ours = layer(h, message_adjacency({works_at: edges}, sizes, torch.device("cpu")))

    index = torch.from_numpy(edges)
    message_types = {works_at: index, ("Account", "rev_WORKS_AT", "Customer"): index.flip(0)}
    reference = HeteroConv({m: SAGEConv(8, 8) for m in message_types}, aggr="sum")
    with torch.no_grad():
        for message_type in message_types:
            conv = reference.convs[message_type]
            conv.lin_l.weight.copy_(layer.neighbours["__".join(message_type)].weight)
            conv.lin_r.weight.copy_(layer.root[message_type[2]].weight)  # one root per destination
            conv.lin_l.bias.copy_(layer.root[message_type[2]].bias)
    expected = reference(h, message_types)
    for label in sizes:
        assert torch.allclose(ours[label], h[label] + torch.relu(expected[label]), atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (CUDA)")
async def test_a_gpu_trains_the_model_the_cpu_trains(store: GraphStore) -> None:
    projection = await small_demo(store)
    on_cpu = EmbeddingModel.train(projection, SMALL, device=torch.device("cpu")).embed(projection)
    on_gpu = EmbeddingModel.train(projection, SMALL, device=torch.device("cuda")).embed(projection)
    for label in EMBEDDED_LABELS:
        assert np.allclose(on_cpu[label], on_gpu[label], atol=1e-3)


@pytest.mark.neo4j_only("Neo4j searches embeddings through its vector index")
async def test_neo4j_indexes_the_embeddings(store: GraphStore, tmp_path: Path) -> None:
    await small_demo(store)
    await embed(store, SMALL, model_dir=tmp_path)
    rows = await store.read(
        "SHOW INDEXES YIELD name, type WHERE type = 'VECTOR' RETURN collect(name) AS names"
    )
    assert sorted(rows[0]["names"]) == sorted(vector_index(label) for label in EMBEDDED_LABELS)


@pytest.mark.embedded_only(
    "this FalkorDB's vector index keeps stale copies of written nodes: it searches exactly"
)
async def test_falkordb_keeps_no_vector_index_not_even_an_earlier_one(
    store: GraphStore, tmp_path: Path
) -> None:
    await small_demo(store)
    await store.run_schema(
        "CREATE VECTOR INDEX customer_embedding IF NOT EXISTS FOR (n:Customer) ON (n.embedding) "
        "OPTIONS {indexConfig: {`vector.dimensions`: 16, `vector.similarity_function`: 'cosine'}}"
    )
    await embed(store, SMALL, model_dir=tmp_path)
    rows = await store.read("CALL db.indexes() YIELD label, types RETURN label, types")
    assert not [row["label"] for row in rows if "VECTOR" in str(row["types"])]
