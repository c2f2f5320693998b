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

from rapport.graph.dialect import checked_identifier
from rapport.graph.types import Columns, GraphStore, NodeBatch, RelationshipBatch


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
    """Writes node and relationship batches with Cypher; counts what it wrote.

    Endpoints are found through the ``id`` indexes, so they must exist first.
    """

    needs_indexes_first = True

    def __init__(self, store: GraphStore, *, timeout: float = 600.0) -> None:
        self._store = store
        self._timeout = timeout
        self.nodes = 0
        self.relationships = 0

    async def write_nodes(self, batch: NodeBatch) -> None:
        if len(batch):
            await self._store.write(node_query(batch), dict(batch.columns), timeout=self._timeout)
            self.nodes += len(batch)

    async def write_relationships(self, batch: RelationshipBatch) -> None:
        if len(batch):
            params = {**batch.columns, "source": batch.sources, "target": batch.targets}
            await self._store.write(relationship_query(batch), params, timeout=self._timeout)
            self.relationships += len(batch)

    async def finish(self) -> None:
        """Nothing to do: every batch was its own committed transaction."""
