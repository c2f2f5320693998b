"""Shared types of the graph store: the record shape and the store protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Record = dict[str, Any]
"""One result row: column name -> plain Python value (see :mod:`rapport.graph.values`)."""

Params = Mapping[str, Any]
Columns = Mapping[str, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A node as returned by either backend.

    ``element_id`` is the backend's internal id as a string; it is only stable
    for the life of one query result. Public ids live in ``properties["id"]``.
    """

    element_id: str
    labels: frozenset[str]
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GraphRelationship:
    """A relationship as returned by either backend."""

    element_id: str
    type: str
    start_element_id: str
    end_element_id: str
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GraphPath:
    """A path: alternating nodes and relationships, in traversal order."""

    nodes: tuple[GraphNode, ...]
    relationships: tuple[GraphRelationship, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A query result as a table: column names (known even without rows), rows in column order."""

    columns: tuple[str, ...]
    rows: list[list[Any]]
    truncated: bool = False  # the query had more rows than were asked for


@dataclass(frozen=True, slots=True)
class Statement:
    """One parameterized Cypher statement of a write transaction.

    With ``required_match`` set, the statement must return at least one row;
    if it returns none, the whole transaction is rolled back and
    :class:`~rapport.graph.errors.NothingMatched` carries this message.
    With ``serial`` set, the statement takes a lock every transaction of
    its kind needs (the outbox sequence's): a store may run such
    transactions one at a time.
    """

    cypher: str
    params: Mapping[str, Any] = field(default_factory=dict)
    required_match: str | None = None
    serial: bool = False


@dataclass(frozen=True, slots=True)
class NodeBatch:
    """Nodes of one label; ``columns`` maps each property to its values (``id`` required)."""

    label: str
    columns: Columns

    def __len__(self) -> int:
        return len(self.columns["id"])


@dataclass(frozen=True, slots=True)
class RelationshipBatch:
    """Relationships of one type between nodes addressed by label and public id."""

    type: str
    source_label: str
    target_label: str
    sources: Sequence[str]
    targets: Sequence[str]
    columns: Columns

    def __len__(self) -> int:
        return len(self.sources)


class BulkSink(Protocol):
    """Loads many nodes and relationships fast: all nodes of a load before their relationships,
    which address their endpoints by public id. Needs no index while loading."""

    nodes: int
    relationships: int

    async def write_nodes(self, batch: NodeBatch) -> None: ...

    async def write_relationships(self, batch: RelationshipBatch) -> None: ...

    async def finish(self) -> None:
        """Complete the load (the graph is then ready for queries)."""
        ...


@runtime_checkable
class GraphStore(Protocol):
    """The one async interface every layer above ``rapport.graph`` uses.

    Values always travel as parameters. ``timeout`` is in seconds; ``None``
    means the store's configured default.
    """

    @property
    def backend(self) -> str:
        """``"neo4j"`` or ``"falkordb"``: for logs and messages, never for branching."""
        ...

    @property
    def dialect(self) -> Dialect:
        """The Cypher fragments that differ between backends."""
        ...

    async def read(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        """Run a read-only query; a query that tries to write is refused."""
        ...

    async def read_table(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None, max_rows: int
    ) -> Table:
        """Run a read-only query as :meth:`read` does; return its first ``max_rows`` rows as a table.

        For analysts' queries, whose size is unknown: rows past ``max_rows`` are
        not converted (nor, on Neo4j, sent) and ``truncated`` says they existed.
        """
        ...

    async def write(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        """Run one write query in its own transaction."""
        ...

    async def write_transaction(
        self, statements: Sequence[Statement], *, timeout: float | None = None
    ) -> list[list[Record]]:
        """Run several statements atomically; return each statement's rows.

        Either every statement takes effect or none does. Later statements see
        the writes of earlier ones.
        """
        ...

    async def run_schema(self, *statements: str) -> None:
        """Run index and constraint statements written in Neo4j's DDL syntax; return once all
        are built. Statements given together may be built together (faster on a full graph)."""
        ...

    async def delete_in_batches(
        self, match: str, params: Params | None = None, *, batch_size: int = 10_000
    ) -> int:
        """Detach-delete every node bound to ``n`` by ``match``, in batches; return the count."""
        ...

    async def clear(self) -> None:
        """Delete all data, indexes and constraints of this store's graph."""
        ...

    async def bulk_sink(self) -> BulkSink:
        """A loader for many records at once; the fastest the backend offers for this graph.

        On a graph holding nothing but migration bookkeeping it may rebuild the
        graph from scratch (indexes included): apply migrations after
        :meth:`BulkSink.finish`.
        """
        ...

    async def close(self) -> None:
        """Release connections (and stop the embedded database where one was started)."""
        ...


class Dialect(Protocol):
    """Cypher fragments that differ between Neo4j and FalkorDB.

    Every other query in Rapport is written once and runs on both.
    """

    @property
    def name(self) -> str:
        """``"neo4j"`` or ``"falkordb"``."""
        ...

    @property
    def indexes_vectors(self) -> bool:
        """Whether :meth:`vector_nodes` searches a vector index (else an exact search, which
        needs none: an index would only slow every write)."""
        ...

    def exists_pattern(self, pattern: str) -> str:
        """A boolean expression: does ``pattern`` (with bound variables) match?"""
        ...

    def count_pattern(self, pattern: str) -> str:
        """An integer expression: how many matches of ``pattern``?"""
        ...

    def shortest_path(self, path_var: str, start: str, end: str, rel: str, max_hops: int) -> str:
        """A clause binding ``path_var`` to a shortest directed path ``start`` -> ``end``.

        ``start`` and ``end`` are bound variables; ``rel`` is a relationship type
        expression such as ``:KNOWS|REFERRED`` (may be empty). The clause keeps
        ``start`` and ``end`` in scope and drops rows where no path exists.
        """
        ...

    def fulltext_nodes(self, index: str, label: str) -> str:
        """A ``CALL`` yielding ``node, score`` for the full-text query ``$query``."""
        ...

    def index_hint(self, variable: str, label: str, property: str) -> str:
        """What follows a ``MATCH`` pattern to have ``variable`` (of ``label``) found through the
        index on ``property``, where the planner's estimates might choose otherwise ("" where
        the engine takes no hints)."""
        ...

    def vector_nodes(
        self, index: str, label: str, property: str, k: str = "$k", vector: str = "$vector"
    ) -> str:
        """A ``CALL`` yielding ``node, score``: the ``k`` nearest to ``vector``, keeping the
        variables already bound (so it can run inside a subquery, per record).

        ``k`` and ``vector`` are parameters or stored properties (``$k``, ``n.embedding``);
        ``score`` is a cosine similarity scaled to [0, 1], higher is closer.
        """
        ...

    def vector_value(self, param: str) -> str:
        """An expression storing the list parameter ``$param`` as an indexable vector."""
        ...

    def vector_of(self, expression: str) -> str:
        """An expression storing the list ``expression`` as an indexable vector.

        For a parameter (``$vector``, what :meth:`vector_value` says) or a list inside the
        query, such as ``row.embedding`` of an ``UNWIND``: ``expression`` is a parameter, a
        variable or a property of one, never user text.
        """
        ...

    def drop_vector_index(self, index: str, label: str, property: str) -> str:
        """A write statement dropping the vector index ``index`` on ``label.property``.

        The index must exist (FalkorDB has no ``IF EXISTS``).
        """
        ...
