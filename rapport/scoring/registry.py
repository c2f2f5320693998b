"""Model versions: a JSON file under ``data_dir/models/<kind>/`` and a ``_Model`` node in the graph
(:mod:`rapport.model_registry`).

The node holds what a user asks about a model without opening it (kind,
version, when, on which labels and cutoff, its metrics next to the
tabular-only baseline's, its feature columns) and the file's SHA-256, so a
file that was replaced or lost is refused rather than silently used. The
latest model of a kind (by creation time) is the one that scores.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rapport import model_registry
from rapport.graph.types import GraphStore
from rapport.scoring.errors import ScoringError
from rapport.scoring.model import Model


@dataclass(frozen=True)
class ModelRecord:
    """A model version as the graph describes it."""

    version: str
    kind: str
    created: int
    file: str
    sha256: str
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    features: list[str]


def new_version(kind: str, now: dt.datetime | None = None) -> str:
    """``churn-20261130-234219-123``: the kind and the UTC creation time to the millisecond."""
    moment = now or dt.datetime.now(dt.UTC)
    return f"{kind}-{moment:%Y%m%d-%H%M%S}-{moment.microsecond // 1000:03d}"


async def save_model(store: GraphStore, model: Model, data_dir: Path) -> ModelRecord:
    """Write ``model`` (its ``info`` names kind and version) to its file, then record it in the graph."""
    info = model.info
    folder = data_dir / "models" / info["kind"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{info['version']}.json"
    data = model.to_json()
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, path)  # a reader sees the whole file or none
    record = ModelRecord(
        version=info["version"],
        kind=info["kind"],
        created=info["created"],
        file=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        metrics=info["metrics"],
        baseline_metrics=info["baseline_metrics"],
        features=list(model.columns),
    )
    await model_registry.record_model(
        store,
        record.kind,
        record.version,
        record.created,
        {
            "file": record.file,
            "sha256": record.sha256,
            "labelSource": info["label_source"],
            "cutoff": info["cutoff"],
            "metrics": orjson.dumps(record.metrics).decode(),
            "baselineMetrics": orjson.dumps(record.baseline_metrics).decode(),
            "features": record.features,
        },
    )
    return record


async def has_model(store: GraphStore, kind: str) -> bool:
    """Whether a model of ``kind`` has been trained."""
    return await model_registry.latest_model(store, kind) is not None


async def latest_model(store: GraphStore, kind: str) -> tuple[ModelRecord, Model]:
    """The newest model of ``kind``, loaded from its file and checked against its recorded hash."""
    node = await model_registry.latest_model(store, kind)
    if node is None:
        raise ScoringError(f"no {kind} model yet: train one with `rapport train {kind}`")
    record = ModelRecord(
        node["version"], kind, node["createdAt"], node["file"], node["sha256"],
        orjson.loads(node["metrics"]), orjson.loads(node["baselineMetrics"]), list(node["features"]),
    )  # fmt: skip
    try:
        data = Path(record.file).read_bytes()
    except OSError as error:
        raise ScoringError(
            f"model {record.version}: its file {record.file} cannot be read ({error.strerror}); "
            f"train again with `rapport train {kind}` on this machine"
        ) from None
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise ScoringError(f"model {record.version}: {record.file} is not the file that was trained")
    return record, Model.from_json(data)
