"""Stream a part of the graph out of either backend into id-mapped numpy arrays.

:func:`project` reads what a :class:`~rapport.algorithms.projection_spec.ProjectionSpec`
names in two passes, each in batches of internal-id ranges:

1. **nodes**, per label: internal id, record id and the requested properties,
   once per node. Record ids are sorted into an :class:`~rapport.algorithms.nodes.IdMap`
   (dense index = rank of the record id).
2. **relationships**, per type: packed internal-id pairs (and weights), driven
   from the end with more nodes so batches come out even. Endpoints become
   dense indices through a binary search over that label's sorted internal ids.

Memory is a few numpy arrays per label and type (plus one batch of driver
rows in flight); relationships are sorted by (source, target, weight), so the
same graph gives identical arrays on both backends. The Cypher is in
:mod:`~rapport.algorithms.projection_cypher` and is the same for both.

Internal ids are only used while reading: a node deleted and another created
meanwhile could reuse one, so a relationship whose end is not in its label's
map (created after the node pass, or outside the node window) is left out.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from rapport.algorithms import projection_cypher as cypher
from rapport.algorithms.nodes import IdMap, NodeValues
from rapport.algorithms.projection_spec import EdgeType, NodeSpec, ProjectionSpec, RelationshipSpec
from rapport.graph.types import GraphStore, Record

__all__ = ["NodeTable", "Projection", "RelationshipTable", "project"]

T = TypeVar("T")

_PACK_LIMIT = 2**62  # packed pairs stay below it (signed 64-bit integers on both backends)


@dataclass(frozen=True)
class NodeTable:
    """The projected nodes of one label: their ids and the requested properties (dense order).

    ``categories`` holds the requested string properties (``""`` where missing).
    """

    ids: IdMap
    properties: dict[str, np.ndarray]
    categories: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class RelationshipTable:
    """The projected relationships of one edge type, as dense indices into the end labels' maps.

    Parallel relationships stay separate rows; ``weight`` is the weight
    property or the spec's default weight.
    """

    spec: RelationshipSpec
    source: np.ndarray
    target: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.source)


@dataclass(frozen=True)
class Projection:
    """A projected part of the graph: nodes per label, relationships per edge type.

    Besides each label's dense index (:class:`~rapport.algorithms.nodes.IdMap`),
    nodes have a **global index** ``0..node_count-1`` for homogeneous matrices:
    labels in the spec's order, each label's nodes in its dense order.
    """

    spec: ProjectionSpec
    nodes: dict[str, NodeTable]
    relationships: dict[EdgeType, RelationshipTable]

    @property
    def node_count(self) -> int:
        return sum(len(table) for table in self.nodes.values())

    @property
    def relationship_count(self) -> int:
        return sum(len(table) for table in self.relationships.values())

    def ids(self, label: str) -> IdMap:
        """``label``'s record id <-> dense index map."""
        return self.nodes[label].ids

    @property
    def offsets(self) -> dict[str, int]:
        """The global index of each label's first node."""
        offsets, at = {}, 0
        for label in self.spec.labels:
            offsets[label] = at
            at += len(self.nodes[label])
        return offsets

    def global_index(self, label: str, record_ids: Iterable[str]) -> np.ndarray:
        """The global index of each record id of ``label`` (:class:`KeyError` for unknown ones)."""
        return self.offsets[label] + self.ids(label).index(record_ids)

    def node_at(self, index: int) -> tuple[str, str]:
        """``(label, record id)`` of the node at global ``index``."""
        if not 0 <= index < self.node_count:
            raise IndexError(f"global index {index} outside 0..{self.node_count - 1}")
        for label, offset in reversed(self.offsets.items()):
            if index >= offset:
                return label, self.ids(label).record_id(index - offset)
        raise AssertionError("unreachable: offsets start at 0")

    def node_values(self, values: np.ndarray) -> NodeValues:
        """Label a vector over the global index (an algorithm's result) with record ids."""
        values = np.asarray(values)
        if values.shape != (self.node_count,):
            raise ValueError(f"expected {self.node_count} values, got shape {values.shape}")
        labels = np.repeat(np.array(self.spec.labels), [len(self.nodes[lb]) for lb in self.spec.labels])
        ids = np.concatenate([self.ids(label).ids for label in self.spec.labels])
        return NodeValues(labels, ids, values)


@dataclass(frozen=True)
class _LabelRead:
    """One label's nodes as read, with the lookup from internal id to dense index."""

    table: NodeTable
    internal_sorted: np.ndarray  # internal ids, ascending
    dense_of_sorted: np.ndarray  # the dense index of each of them

    def dense(self, internal: np.ndarray) -> np.ndarray:
        """Dense indices of internal ids; ``-1`` for ids not in this label's projection."""
        if not len(self.internal_sorted):
            return np.full(len(internal), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.internal_sorted, internal), len(self.internal_sorted) - 1)
        return np.where(self.internal_sorted[at] == internal, self.dense_of_sorted[at], -1)


class _Reader:
    """Runs a projection's read queries, at most ``concurrency`` at a time."""

    def __init__(self, store: GraphStore, concurrency: int, timeout: float | None) -> None:
        self._store = store
        self._slots = asyncio.Semaphore(concurrency)
        self._timeout = timeout

    async def one(self, query: str, params: dict[str, Any]) -> Record:
        async with self._slots:
            rows = await self._store.read(query, params, timeout=self._timeout)
        return rows[0]

    async def arrays(
        self, query: str, params: dict[str, Any], columns: Mapping[str, type[np.generic]]
    ) -> dict[str, np.ndarray]:
        """A batch's collected lists as arrays, so its Python objects go as soon as it arrives."""
        row = await self.one(query, params)
        return {name: np.array(row[name], dtype=dtype) for name, dtype in columns.items()}

    async def all(self, reads: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
        """Run ``reads`` together (as the slots allow); the first failure cancels the others."""
        tasks = [asyncio.ensure_future(read) for read in reads]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise


async def project(
    store: GraphStore,
    spec: ProjectionSpec,
    *,
    batch_size: int = 100_000,
    concurrency: int = 2,
    timeout: float | None = None,
) -> Projection:
    """Read the part of the graph ``spec`` names from ``store`` into a :class:`Projection`.

    Parameters
    ----------
    store
        Either backend; the same queries run on both.
    spec
        Labels, relationship types, weights and time windows to project.
    batch_size
        About how many nodes or relationships one query returns.
    concurrency
        How many batch queries may run at once (the database works on one
        while this process decodes another).
    timeout
        Seconds per query; ``None`` is the store's default.

    Returns
    -------
    Projection
        Nodes per label and relationships per edge type, as numpy arrays.

    Examples
    --------
    >>> spec = ProjectionSpec((NodeSpec("Customer"),), (RelationshipSpec("KNOWS", "Customer", "Customer"),))
    >>> projection = await project(store, spec)  # doctest: +SKIP
    >>> projection.relationships["Customer", "KNOWS", "Customer"].source  # doctest: +SKIP
    array([0, 0, 1, ...])
    """
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be at least 1")
    reader = _Reader(store, concurrency, timeout)
    reads = await reader.all(_read_nodes(reader, node, batch_size) for node in spec.nodes)
    by_label = dict(zip(spec.labels, reads, strict=True))
    tables = await reader.all(
        _read_relationships(reader, rel, spec, by_label, batch_size) for rel in spec.relationships
    )
    return Projection(
        spec,
        {label: read.table for label, read in by_label.items()},
        dict(zip(spec.edge_types, tables, strict=True)),
    )


def _ranges(low: int, high: int, parts: int) -> Iterator[tuple[int, int]]:
    """``parts`` half-open ranges of about equal width covering ``low..high``."""
    bounds = np.unique(np.linspace(low, high + 1, parts + 1).astype(np.int64))
    return zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)


async def _read_nodes(reader: _Reader, node: NodeSpec, batch_size: int) -> _LabelRead:
    count_query, count_params = cypher.node_count_query(node)
    counted = await reader.one(count_query, count_params)
    query, params = cypher.node_batch_query(node)
    columns: dict[str, type[np.generic]] = {"internal": np.int64, "ids": np.str_}
    columns.update({f"p{i}": np.float64 for i in range(len(node.properties))})
    columns.update({f"c{i}": np.str_ for i in range(len(node.categories))})
    batches: list[dict[str, np.ndarray]] = []
    if counted["count"]:
        parts = math.ceil(counted["count"] / batch_size)
        batches = await reader.all(
            reader.arrays(query, {**params, "low": low, "high": high}, columns)
            for low, high in _ranges(counted["low"], counted["high"], parts)
        )
    ids, order = IdMap.sorting(node.label, _column(batches, "ids", np.str_))
    internal = _column(batches, "internal", np.int64)[order]
    properties = {
        name: _column(batches, f"p{i}", np.float64)[order] for i, name in enumerate(node.properties)
    }
    categories = {name: _column(batches, f"c{i}", np.str_)[order] for i, name in enumerate(node.categories)}
    by_internal = np.argsort(internal, kind="stable")
    return _LabelRead(NodeTable(ids, properties, categories), internal[by_internal], by_internal)


def _column(batches: Sequence[dict[str, np.ndarray]], name: str, dtype: type[np.generic]) -> np.ndarray:
    """One column of every batch, as one array."""
    return np.concatenate([batch[name] for batch in batches] or [np.empty(0, dtype)])


def _driver_chunks(internal_sorted: np.ndarray, per_batch: int, max_width: int) -> Iterator[tuple[int, int]]:
    """Half-open internal-id ranges of at most ``per_batch`` driving nodes and ``max_width`` ids."""
    start, n = 0, len(internal_sorted)
    while start < n:
        low = int(internal_sorted[start])
        stop = min(start + per_batch, int(np.searchsorted(internal_sorted, low + max_width)))
        high = min(int(internal_sorted[stop]), low + max_width) if stop < n else int(internal_sorted[-1]) + 1
        yield low, high
        start = stop


async def _read_relationships(
    reader: _Reader,
    rel: RelationshipSpec,
    spec: ProjectionSpec,
    by_label: dict[str, _LabelRead],
    batch_size: int,
) -> RelationshipTable:
    source_nodes, target_nodes = by_label[rel.source], by_label[rel.target]
    from_source = len(source_nodes.internal_sorted) >= len(target_nodes.internal_sorted)
    driver, other = (source_nodes, target_nodes) if from_source else (target_nodes, source_nodes)
    if not len(driver.internal_sorted) or not len(other.internal_sorted):
        empty = np.empty(0, dtype=np.int64)
        return _relationship_table(rel, empty, empty, np.empty(0))
    total = (await reader.one(cypher.relationship_count_query(rel), {}))["count"]
    per_node = max(total / len(driver.internal_sorted), 1.0)
    base = int(other.internal_sorted[0])
    span = int(other.internal_sorted[-1]) - base + 1
    query, params = cypher.relationship_batch_query(
        rel, spec.node(rel.source), spec.node(rel.target), from_source=from_source
    )
    columns: dict[str, type[np.generic]] = {"pairs": np.int64}
    if rel.weight:
        columns["weights"] = np.float64

    async def batch(low: int, high: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        read = await reader.arrays(
            query, {**params, "low": low, "high": high, "span": span, "base": base}, columns
        )
        pairs = read["pairs"]
        ends = (driver.dense(low + pairs // span), other.dense(base + pairs % span))
        weight = read["weights"] if rel.weight else np.full(len(pairs), rel.default_weight)
        return (*(ends if from_source else ends[::-1]), weight)

    per_batch = max(1, int(batch_size / per_node))
    parts = await reader.all(
        batch(low, high)
        for low, high in _driver_chunks(driver.internal_sorted, per_batch, _PACK_LIMIT // span)
    )
    source, target, weight = (np.concatenate([part[i] for part in parts]) for i in range(3))
    return _relationship_table(rel, source, target, weight)


def _relationship_table(
    rel: RelationshipSpec, source: np.ndarray, target: np.ndarray, weight: np.ndarray
) -> RelationshipTable:
    """Drop relationships with an end outside the projection; sort the rest canonically."""
    keep = (source >= 0) & (target >= 0)
    source, target, weight = source[keep], target[keep], weight[keep]
    order = np.lexsort((weight, target, source))
    return RelationshipTable(rel, source[order], target[order], weight[order])
