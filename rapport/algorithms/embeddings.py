"""GNN embeddings of customers and accounts, trained on the graph itself.

A heterogeneous GraphSAGE (:mod:`~rapport.algorithms.gnn_model`) over
customers, accounts, deals, tickets, campaigns, products and staff, with
generic CRM features (:mod:`~rapport.algorithms.gnn_features`), trained
self-supervised by link prediction (:mod:`~rapport.algorithms.gnn_training`).
Nodes that take part in the same relationships end up close, so lookalike
customers and accounts are near neighbours
(:func:`~rapport.algorithms.similarity.similar`), and the vectors serve as
features of the scoring models.

:func:`embed` runs the whole cycle: project, train (or load the current
model: GraphSAGE is inductive, so a trained model embeds records created
since), embed, write the vectors to the nodes, index them, and record the
model (:mod:`~rapport.algorithms.embedding_store`). The same seed on the same
graph gives the same embeddings, on either backend.

Examples
--------
>>> from rapport.algorithms.gnn_config import TrainingConfig
>>> config = TrainingConfig(dimensions=32, epochs=30, seed=7)
>>> report = await embed(store, config, model_dir=data_dir / "models")  # doctest: +SKIP
>>> report.version, report.embedded  # doctest: +SKIP
('graphsage-20261201T101500123456Z', {'Customer': 2000, 'Account': 250})
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rapport import model_registry
from rapport.algorithms import embedding_store
from rapport.algorithms.embedding_store import EMBEDDED_LABELS, NoModel
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.algorithms.gnn_features import FeatureEncoder, embedding_spec
from rapport.algorithms.gnn_model import HeteroSAGE
from rapport.algorithms.gnn_training import GraphTensors, embed_nodes, pick_device, reproducible, train
from rapport.algorithms.projection import Projection, project
from rapport.algorithms.projection_spec import EdgeType
from rapport.graph.types import GraphStore
from rapport.graph.values import epoch_millis

__all__ = ["ALGORITHM", "EmbeddingModel", "EmbeddingReport", "embed"]

ALGORITHM = "hetero-graphsage"


@dataclass
class EmbeddingModel:
    """A trained encoder with the feature encoding it was trained with.

    ``info`` holds the version, creation time (epoch ms), the training
    losses, and the size of the graph it was trained on.
    """

    config: TrainingConfig
    features: FeatureEncoder
    edge_types: list[EdgeType]
    network: HeteroSAGE
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.info["version"])

    @classmethod
    def train(
        cls, projection: Projection, config: TrainingConfig, *, device: torch.device | None = None
    ) -> EmbeddingModel:
        """Fit the features and train the network on ``projection`` (from :func:`embedding_spec`)."""
        device = device or pick_device()
        features = FeatureEncoder.fit(projection)
        with reproducible(config.seed):
            network, losses = train(_tensors(projection, features), config, device)
        created = datetime.now(UTC)
        info = {
            "version": f"graphsage-{created:%Y%m%dT%H%M%S%f}Z",
            "created": epoch_millis(created),
            "losses": losses,
            "nodes": projection.node_count,
            "relationships": projection.relationship_count,
        }
        return cls(config, features, list(projection.spec.edge_types), network.cpu(), info)

    def embed(self, projection: Projection, *, device: torch.device | None = None) -> dict[str, np.ndarray]:
        """The embedding of every customer and account of ``projection`` (float32 rows, unit length,
        in each label's dense order)."""
        if list(projection.spec.edge_types) != self.edge_types:
            raise ValueError("the projection's edge types differ from those the model was trained on")
        device = device or pick_device()
        graph = _tensors(projection, self.features)
        with reproducible(self.config.seed):
            vectors = embed_nodes(self.network.to(device), graph, device)
        self.network.cpu()
        return {label: vectors[label] for label in EMBEDDED_LABELS}

    def save(self, path: Path) -> None:
        """Write the weights and everything needed to rebuild the model to ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "config": self.config.to_dict(),
                "features": self.features.to_dict(),
                "edge_types": [list(edge_type) for edge_type in self.edge_types],
                "state": self.network.state_dict(),
                "info": self.info,
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> EmbeddingModel:
        """Read a model :meth:`save` wrote (weights only: no code is unpickled)."""
        data = torch.load(path, map_location="cpu", weights_only=True)
        config = TrainingConfig(**data["config"])
        features = FeatureEncoder.from_dict(data["features"])
        edge_types: list[EdgeType] = [(s, t, d) for s, t, d in data["edge_types"]]
        network = HeteroSAGE(
            {label: len(columns) for label, columns in features.columns.items()},
            edge_types,
            hidden=config.hidden,
            dimensions=config.dimensions,
            layers=config.layers,
        )
        network.load_state_dict(data["state"])
        return cls(config, features, edge_types, network, data["info"])


def _tensors(projection: Projection, features: FeatureEncoder) -> GraphTensors:
    # The projection's arrays go to the model as they are: a PyG HeteroData would only wrap them
    # (and importing torch_geometric costs the command line two seconds and a warning).
    return GraphTensors(
        {label: torch.from_numpy(x) for label, x in features.encode(projection).items()},
        {
            edge_type: np.vstack([rel.source, rel.target])
            for edge_type, rel in projection.relationships.items()
        },
    )


@dataclass(frozen=True)
class EmbeddingReport:
    """What :func:`embed` did: the model, how many nodes it embedded, and how long each step took."""

    version: str
    dimensions: int
    embedded: dict[str, int]
    nodes: int
    relationships: int
    loss: float | None  # the last epoch's, when a model was trained
    model_file: Path
    device: str
    seconds: dict[str, float]

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {label}" for label, n in self.embedded.items())
        steps = ", ".join(f"{step} {s:.1f} s" for step, s in self.seconds.items())
        loss = "" if self.loss is None else f", final loss {self.loss:.4f}"
        return (
            f"{self.version}: {self.dimensions}-dimensional embeddings of {counts} on {self.device}"
            f"{loss} (graph of {self.nodes} nodes, {self.relationships} relationships; {steps})"
        )


async def embed(
    store: GraphStore,
    config: TrainingConfig | None = None,
    *,
    model_dir: Path,
    retrain: bool = True,
    as_of: int | None = None,
    batch_size: int = 1_000,
    device: torch.device | None = None,
) -> EmbeddingReport:
    """Train (or reuse) the embedding model, then write and index the embeddings of customers and accounts.

    Parameters
    ----------
    store
        Either backend.
    config
        The model's shape and training (:class:`TrainingConfig` defaults).
    model_dir
        Where model files go (``<version>.pt``), e.g. the settings' data dir ``/ "models"``.
    retrain
        ``False`` embeds the current graph with the latest trained model
        (new records get vectors in the same space) instead of training.
    as_of
        Embed the graph as it was at this epoch-ms moment
        (:func:`~rapport.algorithms.gnn_features.embedding_spec`).
    batch_size
        Nodes per write.
    device
        Where torch runs; a GPU when there is one, by default.

    Returns
    -------
    EmbeddingReport

    Raises
    ------
    NoModel
        With ``retrain=False`` when no model was trained yet.
    """
    config = config or TrainingConfig()
    device = device or pick_device()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = now - clock
        clock = now

    previous = await model_registry.latest_model(store, embedding_store.MODEL_KIND)
    projection = await project(store, embedding_spec(as_of))
    lap("project")
    if retrain:
        model = EmbeddingModel.train(projection, config, device=device)
        model_file = model_dir / f"{model.version}.pt"
        model.save(model_file)
        lap("train")
    else:
        if previous is None or not Path(previous["file"]).is_file():
            raise NoModel("no embedding model to run: train one first (rapport embed)")
        model_file = Path(previous["file"])
        model = EmbeddingModel.load(model_file)
    vectors = model.embed(projection, device=device)
    lap("infer")
    at = epoch_millis(datetime.now(UTC))
    embedded = {}
    for label in EMBEDDED_LABELS:
        embedded[label] = await embedding_store.write_vectors(
            store,
            label,
            projection.ids(label).ids,
            vectors[label],
            version=model.version,
            at=at,
            batch_size=batch_size,
        )
        await embedding_store.remove_stale(store, label, model.version)
        await embedding_store.ensure_vector_index(
            store, label, model.config.dimensions, previous=previous["dimensions"] if previous else None
        )
    if retrain:
        await model_registry.record_model(
            store,
            embedding_store.MODEL_KIND,
            model.version,
            model.info["created"],
            _model_properties(model, model_file, as_of),
        )
    lap("write")
    return EmbeddingReport(
        version=model.version,
        dimensions=model.config.dimensions,
        embedded=embedded,
        nodes=projection.node_count,
        relationships=projection.relationship_count,
        loss=model.info["losses"][-1] if retrain else None,
        model_file=model_file,
        device=str(device),
        seconds=seconds,
    )


def _model_properties(model: EmbeddingModel, model_file: Path, as_of: int | None) -> dict[str, Any]:
    properties = {
        "algorithm": ALGORITHM,
        "dimensions": model.config.dimensions,
        "seed": model.config.seed,
        "epochs": model.config.epochs,
        "loss": model.info["losses"][-1],
        "labels": list(EMBEDDED_LABELS),
        "nodes": model.info["nodes"],
        "relationships": model.info["relationships"],
        "file": str(model_file),
    }
    if as_of is not None:
        properties["asOf"] = as_of
    return properties
