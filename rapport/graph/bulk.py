"""Bulk writes through Cypher: many nodes or relationships per query, column-oriented.

Rows travel as one list parameter per property (``$id``, ``$name``, …) and are
unrolled with ``UNWIND range(…)``: one round trip per batch, no per-row
lookups from Python, and relationship endpoints found through the ``id``
indexes inside the database. Null entries leave the property unset. The same
Cypher runs on both backends; it is Neo4j's bulk path, and FalkorDB's when the
graph already holds data (a new FalkorDB graph is built with ``GRAPH.BULK``,
see :mod:`rapport.graph.falkordb_bulk`).
"""

from __future__ import annotations

import asyncio

from rapport.graph.dialect import checked_identifier
from rapport.graph.types import Columns, GraphStore, NodeBatch, Params, Record, RelationshipBatch


def _properties(columns: Columns, row: str) -> str:
    names = [checked_identifier(name) for name in columns]
    return ", ".join(f"{name}: ${name}[{row}]" for name in names)


def node_query(batch: NodeBatch) -> str:
    """The query creating one batch of nodes."""
    label = checked_identifier(batch.label)
    return f"UNWIND range(0, size($id) - 1) AS i CREATE (:{label} {{{_properties(batch.columns, 'i')}}})"


def relationship_query(batch: RelationshipBatch) -> str:
    """The query creating one batch of relationships; endpoints are matched by indexed id."""
    rel, src, dst = (checked_identifier(n) for n in (batch.type, batch.source_label, batch.target_label))
    for name in batch.columns:
        if name in ("source", "target"):
            raise ValueError(f"relationship property may not be called {name!r}")
    # Binding the ids with WITH first lets both planners use the id index.
    return (
        "UNWIND range(0, size($source) - 1) AS i "
        "WITH i, $source[i] AS source, $target[i] AS target "
        f"MATCH (a:{src} {{id: source}}) MATCH (b:{dst} {{id: target}}) "
        f"CREATE (a)-[:{rel} {{{_properties(batch.columns, 'i')}}}]->(b)"
    )


class BulkWriter:
    """Writes node and relationship batches with Cypher, up to ``in_flight`` batches at a time;
    counts what it wrote.

    Endpoints are found through the ``id`` indexes, so they must exist first,
    and every node batch has been written before the first relationship
    batch goes out. A failed batch is raised once the others in flight have
    ended.
    """

    needs_indexes_first = True

    def __init__(self, store: GraphStore, *, timeout: float = 600.0, in_flight: int = 1) -> None:
        self._store = store
        self._timeout = timeout
        self._in_flight = in_flight
        self._writing: set[asyncio.Task[list[Record]]] = set()
        self._nodes_written = False
        self.nodes = 0
        self.relationships = 0

    async def write_nodes(self, batch: NodeBatch) -> None:
        if len(batch):
            await self._submit(node_query(batch), dict(batch.columns))
            self.nodes += len(batch)

    async def write_relationships(self, batch: RelationshipBatch) -> None:
        if not self._nodes_written:
            await self._drain()
            self._nodes_written = True
        if len(batch):
            params = {**batch.columns, "source": batch.sources, "target": batch.targets}
            await self._submit(relationship_query(batch), params)
            self.relationships += len(batch)

    async def finish(self) -> None:
        await self._drain()

    async def _submit(self, cypher: str, params: Params) -> None:
        while len(self._writing) >= self._in_flight:
            done, self._writing = await asyncio.wait(self._writing, return_when=asyncio.FIRST_COMPLETED)
            await self._raise_failure(done)
        self._writing.add(asyncio.ensure_future(self._store.write(cypher, params, timeout=self._timeout)))

    async def _drain(self) -> None:
        done, self._writing = self._writing, set()
        if done:
            await asyncio.wait(done)
            await self._raise_failure(done)

    async def _raise_failure(self, done: set[asyncio.Task[list[Record]]]) -> None:
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
