"""The FalkorDB backend (the embedded default, or a FalkorDB server by URL)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.exceptions
from falkordb.asyncio import FalkorDB
from redis.asyncio import BlockingConnectionPool

from rapport.graph.bulk import BulkWriter
from rapport.graph.composed import write_composed
from rapport.graph.dialect import FalkorDialect, checked_identifier
from rapport.graph.embedded import EmbeddedFalkorDB
from rapport.graph.errors import (
    ConstraintViolation,
    QueryError,
    QueryTimeout,
    ReadOnlyViolation,
    StoreError,
    StoreUnavailable,
)
from rapport.graph.falkordb_bulk import FalkorBulkLoad
from rapport.graph.falkordb_ddl import IndexKind, IndexSpec, merged_indexes, translate
from rapport.graph.falkordb_results import CompactResult, compact_result, decoded_rows, query_command
from rapport.graph.types import BulkSink, Params, Record, Statement, Table

# How long building indexes and constraints may take: on opening a stored graph, or after a
# schema change (those of the 1,000,000-customer demo graph take about a minute).
_BUILD_WAIT_S = 600.0

# FalkorDB's error messages, by the Neo4j status code of the same mistake.
_CODES = (
    ("Invalid input", "Neo.ClientError.Statement.SyntaxError"),
    ("Unknown function", "Neo.ClientError.Statement.SyntaxError"),
    ("not defined", "Neo.ClientError.Statement.SyntaxError"),
    ("Missing parameters", "Neo.ClientError.Statement.ParameterMissing"),
    ("Type mismatch", "Neo.ClientError.Statement.TypeError"),
    ("Division by zero", "Neo.ClientError.Statement.ArithmeticError"),
    ("is not registered", "Neo.ClientError.Procedure.ProcedureNotFound"),
)


def _unique(label: str, properties: Sequence[str]) -> list[Any]:
    """The arguments naming a unique node constraint in ``GRAPH.CONSTRAINT``."""
    return ["UNIQUE", "NODE", label, "PROPERTIES", len(properties), *properties]


def _translate_error(error: Exception) -> StoreError:
    if isinstance(error, redis.exceptions.ConnectionError | OSError):
        return StoreUnavailable(f"FalkorDB connection failed: {error}")
    message = str(error)
    if "unique constraint violation" in message:
        return ConstraintViolation(message)
    if "timed out" in message.lower():
        return QueryTimeout(message)
    if "RO_QUERY is to be executed only on read-only queries" in message:
        return ReadOnlyViolation("a read query tried to write")
    return QueryError(message, next((code for text, code in _CODES if text in message), None))


class FalkorDBStore:
    """A :class:`~rapport.graph.types.GraphStore` on FalkorDB.

    Queries run through ``GRAPH.QUERY`` / ``GRAPH.RO_QUERY``; each query is
    atomic, and multi-statement transactions are composed into one query.
    """

    backend = "falkordb"
    dialect = FalkorDialect()

    def __init__(
        self,
        client: FalkorDB,
        graph_name: str,
        *,
        default_timeout: float,
        embedded: EmbeddedFalkorDB | None = None,
    ) -> None:
        self._client = client
        self._graph_name = checked_identifier(graph_name)
        self._graph = client.select_graph(graph_name)
        self._default_timeout = default_timeout
        self._embedded = embedded

    @classmethod
    async def connect(
        cls,
        url: str,
        graph_name: str,
        *,
        default_timeout: float,
        embedded: EmbeddedFalkorDB | None = None,
    ) -> FalkorDBStore:
        """Connect to the FalkorDB at ``url`` and make sure the graph exists."""
        # No client-side socket timeout: queries carry a server-side TIMEOUT,
        # which FalkorDB enforces (and rolls back) for writes too.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=32, timeout=None, decode_responses=True, socket_timeout=None
        )
        store = cls(
            FalkorDB(connection_pool=pool),
            graph_name,
            default_timeout=default_timeout,
            embedded=embedded,
        )
        await store._ensure_graph()
        # A FalkorDB that has just loaded a graph rebuilds its indexes in the background (a
        # vector index of 100,000 embeddings takes about 20 s); until then, queries that use
        # one miss records or, for vector indexes, fail.
        await store._indexes_built()
        return store

    @property
    def embedded(self) -> EmbeddedFalkorDB | None:
        """The managed child process, when this store started one."""
        return self._embedded

    def _timeout_ms(self, timeout: float | None) -> int:
        return max(1, round((self._default_timeout if timeout is None else timeout) * 1000))

    async def _run(
        self, cypher: str, params: Params | None, timeout: float | None, *, read_only: bool
    ) -> CompactResult:
        command = query_command(
            self._graph_name, cypher, params or {}, self._timeout_ms(timeout), read_only=read_only
        )
        reply = await self._command(*command)
        try:
            return compact_result(reply)
        except redis.exceptions.ResponseError as error:  # one the reply carries, raised by the query
            raise _translate_error(error) from error

    async def _query(
        self, cypher: str, params: Params | None, timeout: float | None, *, read_only: bool
    ) -> list[Record]:
        result = await self._run(cypher, params, timeout, read_only=read_only)
        rows = await decoded_rows(result.cells, self._graph)
        return [dict(zip(result.columns, row, strict=True)) for row in rows]

    async def read(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        return await self._query(cypher, params, timeout, read_only=True)

    async def read_table(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None, max_rows: int
    ) -> Table:
        # FalkorDB sends the whole result at once; only the first rows are decoded.
        result = await self._run(cypher, params, timeout, read_only=True)
        rows = await decoded_rows(result.cells[:max_rows], self._graph)
        return Table(tuple(result.columns), rows, truncated=len(result.cells) > max_rows)

    async def write(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        return await self._query(cypher, params, timeout, read_only=False)

    async def write_transaction(
        self, statements: Sequence[Statement], *, timeout: float | None = None
    ) -> list[list[Record]]:
        return await write_composed(self.write, statements, timeout)

    async def run_schema(self, *statements: str) -> None:
        steps = [translate(statement) for statement in statements]
        indexes = merged_indexes(steps, await self._indexed())
        for index in indexes:
            await self._create_index(index)
        if any(step.index for step in steps):
            await self._indexes_built()
        uniques = [(step.unique, step.if_not_exists) for step in steps if step.unique is not None]
        for (label, properties), if_not_exists in uniques:
            await self._request_unique_constraint(label, properties, if_not_exists=if_not_exists)
        await self._constraints_built([unique for unique, _ in uniques])

    async def _indexed(self) -> dict[tuple[IndexKind, str, bool], set[str]]:
        """The attributes indexed now, by kind of index and label (or relationship type)."""
        indexed: dict[tuple[IndexKind, str, bool], set[str]] = {}
        rows = await self.read("CALL db.indexes() YIELD label, types, entitytype RETURN *")
        for row in rows:
            for attribute, kinds in row["types"].items():
                for kind in kinds:
                    key = (kind, row["label"], row["entitytype"] == "RELATIONSHIP")
                    indexed.setdefault(key, set()).add(attribute)
        return indexed

    async def _create_index(self, index: IndexSpec) -> None:
        try:
            await self.write(index.cypher)
        except QueryError as error:
            if not (index.if_not_exists and "already indexed" in str(error)):
                raise
            if len(index.properties) > 1:  # another process indexed some of them meanwhile
                for part in index.one_by_one():
                    await self._create_index(part)

    async def _indexes_built(self) -> None:
        """Wait until no index is still being built.

        FalkorDB returns from ``CREATE INDEX`` at once and fills the index in
        the background; until it is done, queries served by it miss records.
        """
        deadline = asyncio.get_running_loop().time() + _BUILD_WAIT_S
        while True:
            rows = await self.read("CALL db.indexes() YIELD label, status RETURN label, status")
            building = sorted({r["label"] for r in rows if r["status"] != "OPERATIONAL"})
            if not building:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise QueryError(f"indexes on {', '.join(building)} not built in time")
            await asyncio.sleep(0.02)

    async def _request_unique_constraint(
        self, label: str, properties: Sequence[str], *, if_not_exists: bool
    ) -> None:
        try:
            await self._command("GRAPH.CONSTRAINT", "CREATE", self._graph_name, *_unique(label, properties))
        except QueryError as error:
            if not (if_not_exists and "already exists" in str(error)):
                raise

    async def _constraints_built(self, uniques: list[tuple[str, list[str]]]) -> None:
        """Wait for FalkorDB's verdict on each unique constraint, built in the background."""
        deadline = asyncio.get_running_loop().time() + _BUILD_WAIT_S
        waiting = {(label, tuple(properties)) for label, properties in uniques}
        while waiting:
            rows = await self.read(
                "CALL db.constraints() YIELD label, properties, status RETURN label, properties, status"
            )
            status = {(r["label"], tuple(r["properties"])): r["status"] for r in rows}
            for label, properties in sorted(u for u in waiting if status.get(u) == "FAILED"):
                await self._command("GRAPH.CONSTRAINT", "DROP", self._graph_name, *_unique(label, properties))
                shared = ", ".join(properties)
                raise ConstraintViolation(
                    f"existing {label} nodes share a value of {shared}: cannot make it unique"
                )
            waiting = {unique for unique in waiting if status.get(unique) != "OPERATIONAL"}
            if not waiting:
                return
            if asyncio.get_running_loop().time() > deadline:
                label, properties = min(waiting)
                raise QueryError(f"constraint on {label}({', '.join(properties)}) not built in time")
            await asyncio.sleep(0.02)

    async def _command(self, *args: Any) -> Any:
        try:
            return await self._client.connection.execute_command(*args)
        except (redis.exceptions.RedisError, OSError) as error:
            raise _translate_error(error) from error

    async def delete_in_batches(
        self, match: str, params: Params | None = None, *, batch_size: int = 10_000
    ) -> int:
        # FalkorDB has no CALL … IN TRANSACTIONS: repeat a LIMITed delete until none are left.
        total = 0
        while True:
            rows = await self.write(
                f"{match} WITH n LIMIT $batch_size DETACH DELETE n RETURN count(*) AS deleted",
                {**(params or {}), "batch_size": batch_size},
            )
            deleted = int(rows[0]["deleted"]) if rows else 0
            total += deleted
            if deleted < batch_size:
                return total

    async def clear(self) -> None:
        # Deleting the graph key drops its data, indexes and constraints at once.
        await self._command("DEL", self._graph_name)
        await self._reopen_graph()

    async def bulk_sink(self) -> BulkSink:
        # GRAPH.BULK can only create a graph. Use it when this graph holds no
        # more than migration bookkeeping (re-applied after the load), else Cypher.
        rows = await self.read("MATCH (n) WHERE NOT (n:_Migration OR n:_MigrationLock) RETURN count(n) AS n")
        if rows[0]["n"]:
            return BulkWriter(self)
        await self._command("DEL", self._graph_name)
        return FalkorBulkLoad(self._client.connection, self._graph_name, self._reopen_graph)

    async def _reopen_graph(self) -> None:
        # The client caches label and type names by internal id; start afresh.
        self._graph = self._client.select_graph(self._graph_name)
        await self._ensure_graph()

    async def _ensure_graph(self) -> None:
        # Read-only queries against a graph that was never written fail with
        # "empty key"; a no-op write creates it.
        await self.write("RETURN 1 AS ready")

    async def close(self) -> None:
        try:
            await self._client.connection.aclose()
            await self._client.connection.connection_pool.disconnect()
        finally:
            if self._embedded is not None:
                await asyncio.to_thread(self._embedded.stop)
