"""GNN embeddings as a scoring feature: what became of the records most like this one.

At each moment (:func:`~rapport.scoring.network_features.moments`), every
customer and account of the graph as it was then is embedded by the GraphSAGE
model of :mod:`rapport.algorithms.embeddings`, and each example's
:data:`NEIGHBOURS` nearest records of its label (cosine similarity, itself
left out) are its lookalikes. The feature is the share of them that had, by
then,

- churned (accounts: marked churned with no sign of life since), or
- moved past the lead stage (customers: at their first ``converted`` campaign
  touch, else when last updated).

Only outcomes dated before the moment count, and the model must not have seen
the graph after the earliest moment: the stored model (``rapport embed``) is
used when it was trained as of that moment or earlier, or on the whole graph
when the moments reach the data's end (scoring); otherwise one is trained here
as of the earliest moment. A share is said in words, not coordinates, so the
feature keeps its meaning whichever model embedded the graph.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rapport import model_registry
from rapport.algorithms.embedding_store import MODEL_KIND
from rapport.algorithms.embeddings import EmbeddingModel
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.algorithms.gnn_features import embedding_spec
from rapport.algorithms.projection import project
from rapport.graph.types import GraphStore
from rapport.scoring.account_features import churned_by
from rapport.scoring.data_time import data_end
from rapport.scoring.frame import Column, Examples, Explain, Family, FeatureGroup, Row
from rapport.scoring.lead_features import CONVERTED_AT, PAST_LEAD
from rapport.scoring.moment_cache import once_per_moment
from rapport.scoring.network_features import moments
from rapport.scoring.words import known

__all__ = ["NEIGHBOURS", "Lookalikes", "embedding_model", "neighbour_share"]

NEIGHBOURS = 20
_CHUNK = 2_048  # examples whose similarities are computed at once (2,048 x records float32)
_OUTCOMES = {"Account": "had churned", "Customer": "had moved past the lead stage"}


@dataclass(frozen=True)
class Lookalikes:
    """The share of an account's or customer's lookalikes with the outcome (module docstring)."""

    label: str
    prefix: str = ""
    config: TrainingConfig = field(default_factory=lambda: TrainingConfig(epochs=15))
    name: str = "lookalikes"
    family: Family = "graph"

    async def extract(self, store: GraphStore, examples: Examples) -> FeatureGroup:
        chosen, moment_of = moments(examples.as_of)
        share = np.full(len(examples), np.nan)
        model = await embedding_model(store, int(chosen[0]), self.config)
        for m, moment in enumerate(chosen.tolist()):
            rows = np.flatnonzero(moment_of == m)
            ids, vectors = (await _embedded(store, model, int(moment)))[self.label]
            outcome = await _outcomes(store, self.label, ids, int(moment))
            wanted = [examples.ids[int(i)] for i in rows]
            # In a thread: the search holds no lock torch does not release, so the other sources'
            # queries go on meanwhile (see extract_frame).
            share[rows] = await asyncio.to_thread(neighbour_share, wanted, ids, vectors, outcome, NEIGHBOURS)
        column = f"{self.prefix}lookalikes_with_outcome"
        explain = _sentence(column, self.label)
        return FeatureGroup(self.name, self.family, [Column(column, explain)], {column: share})


async def embedding_model(store: GraphStore, earliest: int, config: TrainingConfig) -> EmbeddingModel:
    """The stored model where it saw nothing after ``earliest``, else one trained as of it."""
    stored = await model_registry.latest_model(store, MODEL_KIND)
    if stored is not None and Path(stored["file"]).is_file():
        as_of = stored.get("asOf")
        if (as_of is not None and as_of <= earliest) or (as_of is None and earliest >= await data_end(store)):
            return EmbeddingModel.load(Path(stored["file"]))
    return EmbeddingModel.train(await project(store, embedding_spec(earliest)), config)


async def _embedded(
    store: GraphStore, model: EmbeddingModel, moment: int
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Every customer's and account's id and embedding as of ``moment`` (once per scoring run)."""

    async def build() -> dict[str, tuple[list[str], np.ndarray]]:
        projection = await project(store, embedding_spec(moment))
        vectors = await asyncio.to_thread(model.embed, projection)
        return {label: (projection.ids(label).ids.tolist(), vectors[label]) for label in vectors}

    return await once_per_moment(f"embeddings {model.version}", moment, build)


async def _outcomes(store: GraphStore, label: str, ids: list[str], moment: int) -> np.ndarray:
    """1 for each record with the outcome by ``moment``, else 0."""
    if label == "Account":
        return await churned_by(store, Examples("Account", ids, np.full(len(ids), moment, dtype=np.int64)))
    rows = await store.read(
        f"MATCH (c:Customer) WHERE c.lifecycleStage IN $past {CONVERTED_AT} "
        "WITH c, converted WHERE converted < $moment RETURN collect(c.id) AS ids",
        {"past": list(PAST_LEAD), "moment": moment},
        timeout=300.0,
    )
    converted = set(rows[0]["ids"]) if rows else set()
    return np.array([float(id_ in converted) for id_ in ids])


def neighbour_share(
    wanted: list[str], ids: list[str], vectors: np.ndarray, outcome: np.ndarray, neighbours: int
) -> np.ndarray:
    """For each wanted record, the share of its ``neighbours`` most similar others (cosine; rows of
    ``vectors`` are unit length, aligned with ``ids`` and ``outcome``) with the outcome (NaN: not
    among ``ids``)."""
    position = {id_: i for i, id_ in enumerate(ids)}
    share = np.full(len(wanted), np.nan)
    found = np.array([position.get(id_, -1) for id_ in wanted], dtype=np.int64)
    held = np.flatnonzero(found >= 0)
    k = min(neighbours, len(ids) - 1)
    if k < 1:
        return share
    unit = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    has = torch.from_numpy(outcome.astype(np.float32))
    # One similarity buffer for every chunk: a fresh 800 MB one per chunk cost more in page faults
    # than the top-k itself (25,000 leads against 100,000 people: 6.5 s, 4.1 s with the one buffer).
    buffer = torch.empty(min(_CHUNK, len(held)), len(ids))
    with torch.no_grad():  # torch's top-k is ten times numpy's argpartition on these rows
        for start in range(0, len(held), _CHUNK):
            rows = torch.from_numpy(found[held[start : start + _CHUNK]])
            similarity = buffer[: len(rows)]
            torch.mm(unit[rows], unit.T, out=similarity)
            similarity[torch.arange(len(rows)), rows] = -torch.inf  # a record is not its own lookalike
            nearest = torch.topk(similarity, k, dim=1).indices
            share[held[start : start + _CHUNK]] = has[nearest].mean(dim=1).numpy()
    return share


def _sentence(column: str, label: str) -> Explain:
    noun, outcome = ("accounts", _OUTCOMES["Account"]) if label == "Account" else ("people", _OUTCOMES[label])

    def explain(r: Row) -> str:
        value = r[column]
        if not known(value):
            return f"too new to compare with other {noun}"
        return f"{round(100 * value)}% of the {NEIGHBOURS} {noun} most like it (GNN embedding) {outcome}"

    return explain
