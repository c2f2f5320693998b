"""Trained models recorded in the graph: one ``_Model`` node per model version.

Scoring models and embedding models alike leave a node with their ``kind``,
``version`` (also its ``id``), ``createdAt`` (epoch ms) and whatever else
describes them; the latest of a kind, by creation time, is the current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapport.graph.types import GraphStore


async def record_model(
    store: GraphStore, kind: str, version: str, created: int, properties: Mapping[str, Any]
) -> None:
    """Create the ``_Model`` node of model ``version`` of ``kind``, with ``properties`` beside."""
    await store.write(
        "CREATE (m:_Model) SET m = $properties",
        {"properties": {**properties, "id": version, "kind": kind, "version": version, "createdAt": created}},
    )


async def latest_model(store: GraphStore, kind: str) -> dict[str, Any] | None:
    """The properties of the newest ``_Model`` node of ``kind``; ``None`` when none was recorded."""
    rows = await store.read(
        "MATCH (m:_Model {kind: $kind}) RETURN m ORDER BY m.createdAt DESC, m.version DESC LIMIT 1",
        {"kind": kind},
    )
    return dict(rows[0]["m"].properties) if rows else None
