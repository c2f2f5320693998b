"""The Neo4j backend, through the official async driver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import neo4j
import neo4j.exceptions as neo4j_errors
from neo4j import (
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    NotificationDisabledClassification,
    unit_of_work,
)

from rapport.graph.bulk import BulkWriter
from rapport.graph.composed import write_composed
from rapport.graph.dialect import Neo4jDialect
from rapport.graph.errors import (
    ConstraintViolation,
    NothingMatched,
    QueryError,
    QueryTimeout,
    ReadOnlyViolation,
    StoreConfigError,
    StoreError,
    StoreUnavailable,
)
from rapport.graph.types import BulkSink, Params, Record, Statement, Table
from rapport.graph.values import from_neo4j

T = TypeVar("T")

_INDEX_WAIT_S = 300

# A transaction stopped by its timeout reports one of these; which one depends on
# where it was when stopped (running, or waiting for a lock).
_TIMEOUT_CODES = (
    "TransactionTimedOut",
    "TransactionTimedOutClientConfiguration",
    "Transaction.Terminated",
    "Transaction.LockClientStopped",
)
_ACCESS_MODE_CODE = "Neo.ClientError.Statement.AccessMode"
_READ, _WRITE = neo4j.READ_ACCESS, neo4j.WRITE_ACCESS
_COMPOSED_AT_MOST = 12  # statements of a transaction composed into one query (see write_transaction)
_RETRY_DELAYS_S = (0.01, 0.05, 0.2, 0.5, 1.0, 2.0)


def _translate_error(error: Exception) -> StoreError:
    if isinstance(error, neo4j_errors.AuthError):
        return StoreConfigError(f"Neo4j rejected the credentials: {error.message}")
    if isinstance(error, neo4j_errors.ServiceUnavailable | neo4j_errors.SessionExpired | OSError):
        return StoreUnavailable(f"Neo4j is unreachable: {error}")
    if isinstance(error, neo4j_errors.ConstraintError):
        return ConstraintViolation(error.message or str(error))
    if isinstance(error, neo4j_errors.Neo4jError):
        code = error.code or ""
        if code.endswith(_TIMEOUT_CODES):
            return QueryTimeout(error.message or code, code or None)
        if code == _ACCESS_MODE_CODE:
            return ReadOnlyViolation("a read query tried to write")
        return QueryError(error.message or str(error), code or None)
    if isinstance(error, neo4j_errors.DriverError):
        return StoreUnavailable(f"Neo4j driver error: {error}")
    return QueryError(str(error))


def _may_retry(error: Exception, idempotent: bool) -> bool:
    if isinstance(error, neo4j_errors.TransientError):
        return error.is_retryable()
    return idempotent and isinstance(error, neo4j_errors.ServiceUnavailable | neo4j_errors.SessionExpired)


async def _rows(result: neo4j.AsyncResult) -> list[Record]:
    return [
        {k: from_neo4j(v) for k, v in zip(record.keys(), record.values(), strict=True)}
        async for record in result
    ]


class Neo4jStore:
    """A :class:`~rapport.graph.types.GraphStore` on Neo4j 5.

    Every read and write is one query run as an auto-commit transaction
    (as is a transaction of a few statements, composed into one): one round
    trip, where a managed transaction needs a second for its COMMIT. See
    :meth:`write` for what that spares concurrent writers; failures a retry
    may mend are retried (:meth:`_attempts`).
    """

    backend = "neo4j"
    dialect = Neo4jDialect()

    def __init__(self, driver: neo4j.AsyncDriver, database: str, *, default_timeout: float) -> None:
        self._driver = driver
        self._database = database
        self._default_timeout = default_timeout
        self._serial_writes = asyncio.Lock()

    @classmethod
    async def connect(
        cls, uri: str, user: str, password: str, database: str, *, default_timeout: float
    ) -> Neo4jStore:
        """Connect and verify that the server answers and accepts the credentials."""
        try:
            driver = AsyncGraphDatabase.driver(
                uri,
                auth=(user, password),
                connection_acquisition_timeout=30,
                # "Unknown property/label" notes are noise where optional and custom fields are
                # queried before any node has them, and projections read internal ids with id(),
                # which Neo4j 5 deprecates; the driver would log each note as a warning.
                notifications_disabled_classifications=[
                    NotificationDisabledClassification.UNRECOGNIZED,
                    NotificationDisabledClassification.DEPRECATION,
                ],
            )
        except (neo4j_errors.ConfigurationError, ValueError) as error:
            raise StoreConfigError(f"invalid Neo4j URI {uri!r}: {error}") from error
        store = cls(driver, database, default_timeout=default_timeout)
        try:
            await driver.verify_connectivity()
            await store.read("RETURN 1 AS ok")  # the database exists and answers
        except Exception as error:
            await driver.close()
            raise error if isinstance(error, StoreError) else _translate_error(error) from error
        return store

    async def read(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        query = self._query(cypher, timeout)
        return await self._attempts(lambda: self._records(query, params, _READ), idempotent=True)

    async def read_table(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None, max_rows: int
    ) -> Table:
        async def run() -> Table:
            async with self._session(_READ) as session:
                result = await session.run(self._query(cypher, timeout), dict(params or {}))
                records = await result.fetch(max_rows + 1)
                await result.consume()  # the server discards the rest unsent
            rows = [[from_neo4j(v) for v in record.values()] for record in records[:max_rows]]
            return Table(tuple(result.keys()), rows, truncated=len(records) > max_rows)

        return await self._attempts(run, idempotent=True)

    async def write(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        """Run one statement as its own transaction.

        Neo4j commits it as soon as it has run, so the locks it takes (the
        outbox sequence's, for one) are not held across the further round trip
        a managed transaction's COMMIT needs; under concurrent writes that
        wait was most of Neo4j's work.
        """
        query = self._query(cypher, timeout)
        return await self._attempts(lambda: self._records(query, params, _WRITE), idempotent=False)

    async def write_transaction(
        self, statements: Sequence[Statement], *, timeout: float | None = None
    ) -> list[list[Record]]:
        """Run ``statements`` atomically: composed into one query when there are few (see
        :mod:`rapport.graph.composed`), one round trip each in a managed transaction otherwise.

        Neo4j plans every new composition anew, at a cost that grows faster than its size
        (about 0.3 s for 11 statements, 4 s for 88, measured on 2 cores), while a statement
        on its own is planned once and reused in any transaction.

        Transactions with a ``serial`` statement wait for each other here:
        Neo4j would let only one at a time past that statement's lock anyway,
        and its waiting transactions spend CPU the committing one needs (8
        concurrent mutations committed half as many per second as 8 queued).
        """
        run = self._composed if len(statements) <= _COMPOSED_AT_MOST else self._one_by_one
        serial = any(statement.serial for statement in statements)
        async with self._serial_writes if serial else contextlib.nullcontext():
            return await run(statements, timeout)

    async def _composed(self, statements: Sequence[Statement], timeout: float | None) -> list[list[Record]]:
        return await write_composed(self.write, statements, timeout)

    async def _one_by_one(self, statements: Sequence[Statement], timeout: float | None) -> list[list[Record]]:
        async def work(tx: AsyncManagedTransaction) -> list[list[Record]]:
            results = []
            for statement in statements:
                rows = await _rows(await tx.run(statement.cypher, dict(statement.params)))
                if statement.required_match is not None and not rows:
                    raise NothingMatched(statement.required_match)  # rolls the transaction back
                results.append(rows)
            return results

        timed = unit_of_work(timeout=self._default_timeout if timeout is None else timeout)(work)
        try:
            async with self._session(_WRITE) as session:
                return await session.execute_write(timed)
        except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as error:
            raise _translate_error(error) from error

    async def _untimed(self, cypher: str, params: Params | None = None) -> list[Record]:
        """Run with no time limit: schema changes, and CALL … IN TRANSACTIONS (which must not
        run inside a transaction of the caller's)."""
        return await self._attempts(lambda: self._records(cypher, params, _WRITE), idempotent=False)

    def _query(self, cypher: str, timeout: float | None) -> neo4j.Query:
        return neo4j.Query(cypher, timeout=self._default_timeout if timeout is None else timeout)

    def _session(self, access_mode: str) -> neo4j.AsyncSession:
        """A session for one auto-commit query: Neo4j refuses a write in a read one, and a cluster
        routes reads to its readers."""
        return self._driver.session(database=self._database, default_access_mode=access_mode)

    async def _records(self, query: str | neo4j.Query, params: Params | None, mode: str) -> list[Record]:
        async with self._session(mode) as session:
            return await _rows(await session.run(query, dict(params or {})))

    async def _attempts(self, run: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        """``run()``, tried again after a short wait when it failed in a way a retry may mend, as
        the driver's managed transactions do: a transient error (a deadlock, a lock timeout; the
        transaction was rolled back) and, where running twice does no harm, a lost connection."""
        delays = iter(_RETRY_DELAYS_S)
        while True:
            try:
                return await run()
            except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as error:
                delay = next(delays, None) if _may_retry(error, idempotent) else None
                if delay is None:
                    raise _translate_error(error) from error
            await asyncio.sleep(delay)

    async def run_schema(self, *statements: str) -> None:
        for statement in statements:
            await self._untimed(statement)
        await self._wait_for_indexes()

    async def _wait_for_indexes(self) -> None:
        """Indexes populate in the background: wait until all are online.

        Polled in short transactions on purpose: ``db.awaitIndexes`` holds a
        schema lock while it waits, which deadlocks with another process's
        concurrent schema change (two migrators at once).
        """
        deadline = asyncio.get_running_loop().time() + _INDEX_WAIT_S
        while True:
            pending = await self._untimed(
                "SHOW INDEXES YIELD name, state WHERE state <> 'ONLINE' RETURN name, state"
            )
            failed = [row["name"] for row in pending if row["state"] == "FAILED"]
            if failed:
                raise QueryError(f"index {', '.join(failed)} failed to build")
            if not pending:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise QueryTimeout(f"indexes {', '.join(r['name'] for r in pending)} not online in time")
            await asyncio.sleep(0.05)

    async def delete_in_batches(
        self, match: str, params: Params | None = None, *, batch_size: int = 10_000
    ) -> int:
        rows = await self._untimed(
            f"{match} CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF $batch_size ROWS "
            "RETURN count(*) AS deleted",
            {**(params or {}), "batch_size": batch_size},
        )
        return int(rows[0]["deleted"]) if rows else 0

    async def clear(self) -> None:
        # Relationships first: detaching a supernode (a campaign touching every
        # customer) in one batch would exceed the transaction memory pool.
        await self._untimed(
            "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF $batch_size ROWS",
            {"batch_size": 10_000},
        )
        await self.delete_in_batches("MATCH (n)")
        for kind in ("CONSTRAINTS", "INDEXES"):
            rows = await self._untimed(f"SHOW {kind} YIELD name, type RETURN name, type")
            for row in rows:
                if row["type"] != "LOOKUP":  # the built-in token lookup indexes stay
                    keyword = "CONSTRAINT" if kind == "CONSTRAINTS" else "INDEX"
                    await self._untimed(f"DROP {keyword} `{row['name']}` IF EXISTS")

    async def bulk_sink(self) -> BulkSink:
        # Three batches at once: Neo4j runs two (on two cores) while the driver encodes and
        # sends the next; the 100,000-customer demo loads about a tenth faster than with two,
        # and a fifth faster than with one. Relationship batches that deadlock on shared
        # endpoints are retried by write().
        return BulkWriter(self, in_flight=3)

    async def close(self) -> None:
        await self._driver.close()
