"""Bulk writes through Cypher: many nodes or relationships per query, column-oriented.

Rows travel as one list parameter per property (``$id``, ``$name``, …) and are
unrolled with ``UNWIND range(…)``: one round trip per batch, no per-row work
in Python. A node batch answers the database's own number for each node it
created (``id(n)``), and relationship batches address their endpoints by those
numbers: a seek by internal id, where a lookup by public id would search an
index for each endpoint (a quarter of Neo4j's work when loading the demo
graph). So no index has to exist while loading; they are built after the
nodes, in one pass each. Null entries leave the property unset. The same Cypher
runs on both backends; it is Neo4j's bulk path, and FalkorDB's when the graph
already holds data (a new FalkorDB graph is built with ``GRAPH.BULK``, see
:mod:`rapport.graph.falkordb_bulk`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial

from rapport.graph.dialect import checked_identifier
from rapport.graph.errors import NothingMatched, QueryError
from rapport.graph.runtime_check import check, is_failed_check
from rapport.graph.types import Columns, GraphStore, NodeBatch, Params, RelationshipBatch


class NodeNumbers:
    """The number each loaded node has in the database, by label and public id."""

    def __init__(self) -> None:
        self._by_label: dict[str, dict[str, int]] = {}

    def add(self, label: str, ids: Iterable[str], numbers: Iterable[int]) -> None:
        self._by_label.setdefault(label, {}).update(zip(ids, numbers, strict=True))

    def of(self, label: str, ids: Sequence[str]) -> list[int]:
        """The numbers of the ``label`` nodes with these public ids, all loaded before."""
        numbers = self._by_label.get(label, {})
        try:
            return [numbers[i] for i in ids]
        except KeyError as missing:
            raise QueryError(f"relationship endpoint {label} {missing} was not loaded before it") from None


def _properties(columns: Columns, row: str) -> str:
    names = [checked_identifier(name) for name in columns]
    return ", ".join(f"{name}: ${name}[{row}]" for name in names)


def node_query(batch: NodeBatch) -> str:
    """The query creating one batch of nodes; it answers each row's node number."""
    label = checked_identifier(batch.label)
    return (
        f"UNWIND range(0, size($id) - 1) AS i CREATE (n:{label} {{{_properties(batch.columns, 'i')}}}) "
        "RETURN collect(i) AS rows, collect(id(n)) AS numbers"
    )


def relationship_query(batch: RelationshipBatch) -> str:
    """The query creating one batch of relationships between nodes given by number; it
    fails, writing none of them, unless every endpoint is still there with its label."""
    rel, src, dst = (checked_identifier(n) for n in (batch.type, batch.source_label, batch.target_label))
    for name in batch.columns:
        if name in ("source", "target"):
            raise ValueError(f"relationship property may not be called {name!r}")
    return (
        "UNWIND range(0, size($source) - 1) AS i "
        "WITH i, $source[i] AS source, $target[i] AS target "
        f"MATCH (a:{src}) WHERE id(a) = source MATCH (b:{dst}) WHERE id(b) = target "
        f"CREATE (a)-[:{rel} {{{_properties(batch.columns, 'i')}}}]->(b) "
        f"WITH count(*) AS created RETURN created, {check('created = size($source)')} AS complete"
    )


class BulkWriter:
    """Writes node and relationship batches with Cypher, up to ``in_flight`` batches at a time;
    counts what it wrote.

    Every node batch has been written before the first relationship batch goes
    out, as relationships need their endpoints' numbers. A failed batch is
    raised once the others in flight have ended.
    """

    def __init__(self, store: GraphStore, *, timeout: float = 600.0, in_flight: int = 1) -> None:
        self._store = store
        self._timeout = timeout
        self._in_flight = in_flight
        self._writing: set[asyncio.Task[None]] = set()
        self._numbers = NodeNumbers()
        self._nodes_written = False
        self.nodes = 0
        self.relationships = 0

    async def write_nodes(self, batch: NodeBatch) -> None:
        if len(batch):
            await self._submit(partial(self._create_nodes, batch))
            self.nodes += len(batch)

    async def write_relationships(self, batch: RelationshipBatch) -> None:
        if not self._nodes_written:
            await self._drain()
            self._nodes_written = True
        if len(batch):
            sources = self._numbers.of(batch.source_label, batch.sources)
            targets = self._numbers.of(batch.target_label, batch.targets)
            params = {**batch.columns, "source": sources, "target": targets}
            await self._submit(partial(self._create_relationships, batch, params))
            self.relationships += len(batch)

    async def finish(self) -> None:
        await self._drain()

    async def _create_nodes(self, batch: NodeBatch) -> None:
        (row,) = await self._store.write(node_query(batch), dict(batch.columns), timeout=self._timeout)
        ids = batch.columns["id"]
        self._numbers.add(batch.label, (ids[i] for i in row["rows"]), row["numbers"])

    async def _create_relationships(self, batch: RelationshipBatch, params: Params) -> None:
        try:
            await self._store.write(relationship_query(batch), params, timeout=self._timeout)
        except QueryError as error:
            if not is_failed_check(error):
                raise
            raise NothingMatched(
                f"a batch of {len(batch)} {batch.type} relationships lost endpoints ({batch.source_label} "
                f"or {batch.target_label} nodes deleted while loading); none of the batch was written"
            ) from error

    async def _submit(self, write: Callable[[], Awaitable[None]]) -> None:
        while len(self._writing) >= self._in_flight:
            done, self._writing = await asyncio.wait(self._writing, return_when=asyncio.FIRST_COMPLETED)
            await self._raise_failure(done)
        self._writing.add(asyncio.ensure_future(write()))

    async def _drain(self) -> None:
        done, self._writing = self._writing, set()
        if done:
            await asyncio.wait(done)
            await self._raise_failure(done)

    async def _raise_failure(self, done: set[asyncio.Task[None]]) -> None:
        """Raise the first failure among the ``done`` writes, once the rest have ended too."""
        failure = next((task.exception() for task in done if task.exception() is not None), None)
        if failure is None:
            return
        rest, self._writing = self._writing, set()
        if rest:
            await asyncio.wait(rest)
        for task in rest:
            task.exception()  # retrieved: the first failure stands for them
        raise failure
