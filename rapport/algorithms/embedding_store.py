"""Embeddings in the graph: node properties, vector indexes, and the record of the model.

Each embedded node (customers and accounts, :data:`EMBEDDED_LABELS`) carries

- ``embedding``: its vector (a float list on Neo4j, a ``vecf32`` on FalkorDB),
- ``embeddingModel``: the version of the model that computed it,
- ``embeddingAt``: when it was written (epoch ms),

and on Neo4j each label has a cosine vector index on ``embedding``
(:func:`vector_index`, queried through the store's dialect; FalkorDB's
searches exactly, without one: see ``FalkorDialect.vector_nodes``). Every trained
model leaves a ``_Model`` node (``kind: "embedding"``) with its version,
creation time, dimensions, seed, training figures and the path of its
weights (:mod:`rapport.model_registry`). Nothing here needs torch:
similarity search uses it too.
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np

from rapport.graph.dialect import checked_identifier
from rapport.graph.errors import QueryError
from rapport.graph.types import GraphStore
from rapport.schema.model import EMBEDDED_LABELS

__all__ = [
    "EMBEDDED_LABELS",
    "EMBEDDING",
    "EMBEDDING_AT",
    "EMBEDDING_MODEL",
    "MODEL_KIND",
    "NoModel",
    "ensure_vector_index",
    "remove_stale",
    "vector_index",
    "write_vectors",
]

EMBEDDING = "embedding"
EMBEDDING_MODEL = "embeddingModel"
EMBEDDING_AT = "embeddingAt"
MODEL_KIND = "embedding"
"""The ``kind`` of the ``_Model`` nodes of embedding models."""


class NoModel(LookupError):
    """Embedding with the current model was asked for, but none was trained (or its file is gone)."""


_WRITERS = 2  # batches in flight: the database stores one while the next is sent


def vector_index(label: str) -> str:
    """The name of ``label``'s vector index on ``embedding`` (``customer_embedding``)."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in checked_identifier(label)).lstrip("_")
    return f"{snake}_{EMBEDDING}"


async def write_vectors(
    store: GraphStore,
    label: str,
    ids: np.ndarray,
    vectors: np.ndarray,
    *,
    version: str,
    at: int,
    batch_size: int = 1_000,
) -> int:
    """Set the embedding of each node ``ids[i]`` of ``label`` to ``vectors[i]``; return how many were set.

    Written in batches of ``batch_size`` nodes, each its own transaction
    (readers may see a mix of old and new vectors until the last one).
    Values are rounded to float32 on both backends, so they compare equal.
    """
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids but {len(vectors)} vectors")
    cypher = (
        f"UNWIND $rows AS row MATCH (n:{checked_identifier(label)} {{id: row.id}}) "
        f"SET n.{EMBEDDING} = {store.dialect.vector_of('row.vector')}, "
        f"n.{EMBEDDING_MODEL} = $version, n.{EMBEDDING_AT} = $at RETURN count(n) AS written"
    )
    slots = asyncio.Semaphore(_WRITERS)

    async def write(start: int) -> int:
        stop = start + batch_size
        chunk = vectors[start:stop].astype(np.float32).tolist()
        rows = [
            {"id": str(id_), "vector": vector} for id_, vector in zip(ids[start:stop], chunk, strict=True)
        ]
        async with slots:
            result = await store.write(cypher, {"rows": rows, "version": version, "at": at})
        return int(result[0]["written"])

    counts = await asyncio.gather(*(write(start) for start in range(0, len(ids), batch_size)))
    return sum(counts)


async def remove_stale(store: GraphStore, label: str, version: str, *, batch_size: int = 10_000) -> int:
    """Remove embeddings of ``label`` that another model version computed; return how many.

    Nodes outside the latest projection (created after its ``as_of``) would
    otherwise keep vectors from another embedding space.
    """
    removed = 0
    while True:
        rows = await store.write(
            f"MATCH (n:{checked_identifier(label)}) "
            f"WHERE n.{EMBEDDING} IS NOT NULL AND n.{EMBEDDING_MODEL} <> $version "
            f"WITH n LIMIT $limit SET n.{EMBEDDING} = null, n.{EMBEDDING_MODEL} = null, "
            f"n.{EMBEDDING_AT} = null RETURN count(n) AS removed",
            {"version": version, "limit": batch_size},
        )
        done = int(rows[0]["removed"]) if rows else 0
        removed += done
        if done < batch_size:
            return removed


async def ensure_vector_index(
    store: GraphStore, label: str, dimensions: int, *, previous: int | None
) -> None:
    """Make ``label``'s cosine vector index on ``embedding`` exist with ``dimensions``, where
    the backend searches one (:attr:`~rapport.graph.types.Dialect.indexes_vectors`); elsewhere
    make sure there is none (an earlier version created one on FalkorDB too).

    ``previous`` is the dimensions of the index the last model created (from
    its ``_Model`` record): an index of another size is dropped first. Returns
    once the index is built.
    """
    index = vector_index(label)
    if not store.dialect.indexes_vectors:
        await _drop_index_if_any(store, index, label)
        return
    if previous is not None and previous != dimensions:
        await store.write(store.dialect.drop_vector_index(index, label, EMBEDDING))
    # Neo4j quantizes indexed vectors by default, which makes scores approximate (off by 1e-3):
    # similar() promises the same scores as an exact search, on both backends.
    await store.run_schema(
        f"CREATE VECTOR INDEX {index} IF NOT EXISTS FOR (n:{checked_identifier(label)}) ON (n.{EMBEDDING}) "
        f"OPTIONS {{indexConfig: {{`vector.dimensions`: {int(dimensions)}, "
        "`vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false}}"
    )


async def _drop_index_if_any(store: GraphStore, index: str, label: str) -> None:
    with contextlib.suppress(QueryError):  # there was none
        await store.write(store.dialect.drop_vector_index(index, label, EMBEDDING))
