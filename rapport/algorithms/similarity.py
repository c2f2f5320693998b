"""Lookalikes: the customers or accounts most similar to one, by their GNN embeddings.

:func:`similar` asks for the nearest neighbours of a record's embedding by
cosine similarity, on either backend through the same query: only the search
clause is the dialect's (Neo4j's vector index of
:mod:`~rapport.algorithms.embedding_store`; an exact search on FalkorDB, see
``FalkorDialect.vector_nodes``).
Embeddings come from :func:`~rapport.algorithms.embeddings.embed`; records
created since the last run have none until the next one.

Examples
--------
>>> for match in await similar(store, "Account", account_id, k=5):  # doctest: +SKIP
...     print(match.id, match.score)
"""

from __future__ import annotations

from dataclasses import dataclass

from rapport.algorithms.embedding_store import EMBEDDED_LABELS, EMBEDDING, vector_index
from rapport.graph.types import GraphStore

__all__ = ["MAX_K", "NoEmbedding", "Similar", "similar"]

MAX_K = 1_000
_DIGITS = 6  # scores agree to this many digits on both backends; closer ones are ties


class NoEmbedding(LookupError):
    """The record does not exist, or it has no embedding yet."""


@dataclass(frozen=True, slots=True)
class Similar:
    """A similar record: its id and how similar it is.

    ``score`` is the cosine similarity of the two embeddings scaled to
    ``[0, 1]`` (``(1 + cos) / 2``: 1 the same direction, 0.5 unrelated).
    """

    id: str
    score: float


async def similar(store: GraphStore, label: str, record_id: str, k: int = 10) -> list[Similar]:
    """The ``k`` records of ``label`` most similar to ``record_id``, most similar first.

    Parameters
    ----------
    store
        Either backend.
    label
        ``"Customer"`` or ``"Account"``.
    record_id
        The record whose lookalikes are wanted; it is never among them.
    k
        How many, at most :data:`MAX_K` (fewer when fewer records have embeddings).

    Returns
    -------
    list of Similar
        By decreasing score; equal scores (to six digits) by id.

    Raises
    ------
    NoEmbedding
        When the record does not exist or has no embedding yet.
    """
    if label not in EMBEDDED_LABELS:
        raise ValueError(f"similar records are found for {' and '.join(EMBEDDED_LABELS)}, not {label!r}")
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, not {k}")
    rows = await store.read(
        f"MATCH (n:{label} {{id: $id}}) RETURN n.{EMBEDDING} AS embedding", {"id": record_id}
    )
    if not rows or rows[0]["embedding"] is None:
        what = "no such record" if not rows else "no embedding yet (run `rapport embed`)"
        raise NoEmbedding(f"{label} {record_id}: {what}")
    call = store.dialect.vector_nodes(vector_index(label), label, EMBEDDING)
    # One more than asked for: the record itself is (almost always) its own nearest neighbour.
    rows = await store.read(
        f"{call} WITH node, score WHERE node.id <> $id RETURN node.id AS id, score",
        {"k": k + 1, "vector": rows[0]["embedding"], "id": record_id},
    )
    found = sorted((-round(row["score"], _DIGITS), row["id"]) for row in rows)
    return [Similar(id_, -score) for score, id_ in found[:k]]
