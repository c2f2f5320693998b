"""Feature queries over many examples: one query per batch of examples, never one per record.

Every feature query starts with ``UNWIND $rows AS r`` (``r.i``: the example's
row number, ``r.id``: its public id, ``r.t``: its time) and returns ``r.i AS
i``; the results are scattered back into per-example arrays.

Conditions on the far end of a ``MATCH`` go into a following ``WITH ... WHERE``
(``MATCH (e {id: r.id})<-[:RAISED_BY]-(k) WITH r, k WHERE k.createdAt < r.t``):
given them in the ``MATCH``'s own ``WHERE``, FalkorDB's planner may start from
the far label (every ticket) instead of the example's record, once per row.
``OPTIONAL MATCH`` always starts from its bound variables, so it keeps its ``WHERE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rapport.graph.types import GraphStore, Record
from rapport.scoring.frame import Examples

DAY_MS = 86_400_000
BATCH_SIZE = 2_000
_TIMEOUT_S = 300.0  # one batch of a whole-population aggregation may take a while on a large graph


async def per_example(
    store: GraphStore,
    cypher: str,
    examples: Examples,
    params: Mapping[str, Any] | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> list[Record]:
    """Run ``cypher`` over ``examples`` in batches, one after the other; return all their rows.

    One at a time on purpose: concurrent heavy traversals have crashed FalkorDB
    (FalkorDB/FalkorDB#1240), and its own thread pool already uses the cores.
    """
    rows = examples.rows()
    out: list[Record] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        out += await store.read(cypher, {**(params or {}), "rows": chunk}, timeout=_TIMEOUT_S)
    return out


async def per_distinct(
    store: GraphStore,
    cypher: str,
    label: str,
    ids: Sequence[str | None],
    as_of: np.ndarray,
    columns: Sequence[str],
    params: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Run a per-example query once per distinct ``(ids[k], as_of[k])`` (``None`` ids skipped) and
    give every row its pair's ``columns`` (NaN where the query returned nothing).

    For facts of a shared record (a lead's employer): asked once per employer, not per lead.
    """
    keys = [(id_, int(t)) if id_ is not None else None for id_, t in zip(ids, as_of.tolist(), strict=True)]
    pairs = sorted({key for key in keys if key is not None})
    at = np.array([p[1] for p in pairs], dtype=np.int64)
    found = await per_example(store, cypher, Examples(label, [p[0] for p in pairs], at), params)
    where = {pair: k for k, pair in enumerate(pairs)}
    rows = np.array([where[key] if key is not None else -1 for key in keys], dtype=np.int64)
    out = {}
    for name in columns:
        values = np.append(scatter(found, name, len(pairs)), np.nan)  # row -1 reads the NaN
        out[name] = values[rows]
    return out


def scatter(records: Sequence[Record], name: str, n: int, fill: float = np.nan) -> np.ndarray:
    """``records[k][name]`` at row ``records[k]["i"]`` of a float array of ``n`` (``fill`` elsewhere).

    Nulls become ``fill`` too; FalkorDB's float sums of integers become plain floats either way.
    """
    out = np.full(n, fill, dtype=float)
    for record in records:
        value = record[name]
        if value is not None:
            out[record["i"]] = float(value)
    return out


def scatter_objects(records: Sequence[Record], name: str, n: int) -> np.ndarray:
    """Like :func:`scatter` for strings and other values (``None`` where missing)."""
    out = np.full(n, None, dtype=object)
    for record in records:
        out[record["i"]] = record[name]
    return out


def smoothed_rate(
    hits: np.ndarray, total: np.ndarray, prior: float | np.ndarray, weight: float
) -> np.ndarray:
    """``(hits + weight * prior) / (total + weight)``: a rate that trusts few observations little."""
    return np.asarray((hits + weight * prior) / (total + weight), dtype=float)


def days_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Days from ``earlier`` to ``later`` (NaN where ``earlier`` is NaN)."""
    return np.asarray((later - earlier) / DAY_MS, dtype=float)
