"""A store that sends one query at a time, for work that runs side by side with itself.

Feature extraction runs its sources concurrently so that one source's
computing (a GNN inference, a nearest-neighbour search, Louvain) overlaps
another's queries: on a machine with few cores the database and Python would
otherwise take turns, each leaving a core idle. The database still sees one
query at a time: concurrent heavy traversals have crashed FalkorDB
(FalkorDB/FalkorDB#1240), and its own thread pool already uses the cores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from rapport.graph.types import BulkSink, Dialect, GraphStore, Params, Record, Statement, Table

__all__ = ["OneQueryAtATime"]


class OneQueryAtATime:
    """``store``, with each call waiting for the one before it to finish.

    A :meth:`bulk_sink`'s own writes are not serialized: it is handed out under
    the lock, and used by bulk loads that run alone.
    """

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._turn = asyncio.Lock()

    @property
    def backend(self) -> str:
        return self._store.backend

    @property
    def dialect(self) -> Dialect:
        return self._store.dialect

    async def read(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        async with self._turn:
            return await self._store.read(cypher, params, timeout=timeout)

    async def read_table(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None, max_rows: int
    ) -> Table:
        async with self._turn:
            return await self._store.read_table(cypher, params, timeout=timeout, max_rows=max_rows)

    async def write(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        async with self._turn:
            return await self._store.write(cypher, params, timeout=timeout)

    async def write_transaction(
        self, statements: Sequence[Statement], *, timeout: float | None = None
    ) -> list[list[Record]]:
        async with self._turn:
            return await self._store.write_transaction(statements, timeout=timeout)

    async def run_schema(self, *statements: str) -> None:
        async with self._turn:
            await self._store.run_schema(*statements)

    async def delete_in_batches(
        self, match: str, params: Params | None = None, *, batch_size: int = 10_000
    ) -> int:
        async with self._turn:
            return await self._store.delete_in_batches(match, params, batch_size=batch_size)

    async def clear(self) -> None:
        async with self._turn:
            await self._store.clear()

    async def bulk_sink(self) -> BulkSink:
        async with self._turn:
            return await self._store.bulk_sink()

    async def close(self) -> None:
        async with self._turn:
            await self._store.close()
