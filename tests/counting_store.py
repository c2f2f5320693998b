"""A store wrapper that counts database round trips, to hold the API to one query per root field
(and one row per answer, each row being a message of its own from Neo4j)."""

from __future__ import annotations

from typing import Any

from rapport.graph.types import GraphStore, Params, Record


class CountingStore:
    """Delegates to a real store and counts the queries sent through ``read`` and ``write``, and the
    rows each read answered."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self.reads: list[str] = []
        self.writes: list[str] = []
        self.rows: list[int] = []  # per read, in order

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def read(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        self.reads.append(cypher)
        rows = await self._store.read(cypher, params, timeout=timeout)
        self.rows.append(len(rows))
        return rows

    async def write(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        self.writes.append(cypher)
        return await self._store.write(cypher, params, timeout=timeout)
