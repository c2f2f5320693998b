"""Build a new FalkorDB graph with ``GRAPH.BULK``, FalkorDB's binary bulk-insert endpoint.

``GRAPH.BULK`` bypasses the query engine: each command carries binary blobs,
one per label or relationship type, holding a header (the name and the
property keys) and then each entity's property values; a relationship starts
with the sequence numbers of its two nodes (nodes are numbered in the order
they were sent). It only creates a graph: the first command says ``BEGIN``
and the graph key must not exist. Indexes and constraints are created after
the load (by the migrations), which FalkorDB builds in one pass.

Values are encoded as a type byte followed by the value: null 0, boolean 1
(one byte), double 2 (8 bytes), string 3 (UTF-8, NUL-terminated), integer 4
(8 bytes), array 5 (8-byte length, then the elements).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from itertools import chain
from typing import Any

import numpy as np

from rapport.graph.bulk import NodeNumbers
from rapport.graph.errors import QueryError
from rapport.graph.types import NodeBatch, RelationshipBatch

_NULL = b"\x00"
_BOOL = struct.Struct("=B?")
_DOUBLE = struct.Struct("=Bd")
_LONG = struct.Struct("=Bq")


def _string(value: str) -> bytes:
    return b"\x03" + value.encode() + b"\x00"


# The scalar encoders, by type; bool comes before int, as a bool is an int too.
_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    bool: partial(_BOOL.pack, 1),
    int: partial(_LONG.pack, 4),
    float: partial(_DOUBLE.pack, 2),
    str: _string,
}


def encode_value(value: Any) -> bytes:
    """One property value in the bulk format."""
    if value is None:
        return _NULL
    for kind, encode in _ENCODERS.items():
        if isinstance(value, kind):
            return encode(value)
    if isinstance(value, list | tuple):
        return _LONG.pack(5, len(value)) + b"".join(encode_value(v) for v in value)
    raise QueryError(f"cannot bulk-load a value of type {type(value).__name__}")


def encode_column(values: Sequence[Any]) -> list[bytes]:
    """A column of values; a column of one type (and nulls) takes a fast path."""
    kinds = set(map(type, values))
    nullable = type(None) in kinds
    kinds.discard(type(None))
    if kinds == {str}:  # the commonest column, encoded inline
        return [_NULL if v is None else b"\x03" + v.encode() + b"\x00" for v in values]
    if len(kinds) == 1 and (encode := _ENCODERS.get(kinds.pop())) is not None:
        return [_NULL if v is None else encode(v) for v in values] if nullable else list(map(encode, values))
    return [encode_value(v) for v in values]


def _header(name: str, keys: Sequence[str]) -> bytes:
    parts = [name.encode() + b"\x00", struct.pack("=I", len(keys))]
    parts += [key.encode() + b"\x00" for key in keys]
    return b"".join(parts)


def _rows(columns: list[list[bytes]], prefix: list[bytes] | None = None) -> bytes:
    """Interleave encoded columns into entity-major order."""
    if prefix is not None:
        columns = [prefix, *columns]
    if not columns:
        return b""
    return b"".join(chain.from_iterable(zip(*columns, strict=True)))


def node_blob(batch: NodeBatch) -> bytes:
    """One label's blob: header, then each node's property values."""
    keys = list(batch.columns)
    return _header(batch.label, keys) + _rows([encode_column(batch.columns[k]) for k in keys])


def relationship_blob(batch: RelationshipBatch, sources: Sequence[int], targets: Sequence[int]) -> bytes:
    """One relationship type's blob: header, then each relationship's two node numbers
    and its property values."""
    ends = np.empty((len(batch), 2), dtype=np.uint64)  # native order, as the module reads it
    ends[:, 0] = sources
    ends[:, 1] = targets
    keys = list(batch.columns)
    if not keys:
        return _header(batch.type, keys) + ends.tobytes()
    raw = ends.tobytes()
    pairs = [raw[i : i + 16] for i in range(0, len(raw), 16)]
    return _header(batch.type, keys) + _rows([encode_column(batch.columns[k]) for k in keys], prefix=pairs)


class FalkorBulkLoad:
    """Sends node and relationship batches to ``GRAPH.BULK`` for one new graph."""

    def __init__(self, connection: Any, graph_name: str, on_finish: Callable[[], Awaitable[None]]) -> None:
        self._connection = connection
        self._graph = graph_name
        self._on_finish = on_finish
        self._began = False
        self._in_flight: asyncio.Future[None] | None = None
        self._next_node = 0
        self._numbers = NodeNumbers()
        self.nodes = 0
        self.relationships = 0

    async def _send(self, node_count: int, edge_count: int, blob: bytes, *, is_label: bool) -> None:
        """Send one GRAPH.BULK command once the previous one is done; don't wait for this one,
        so the caller encodes the next batch while the server loads this one.

        Commands go out one at a time, in order: node numbers follow arrival order.
        """
        counts = [node_count, edge_count, 1 if is_label else 0, 0 if is_label else 1]
        args: list[Any] = [] if self._began else ["BEGIN"]
        self._began = True
        if self._in_flight is not None:
            await self._in_flight
        self._in_flight = asyncio.ensure_future(self._command([*args, *counts, blob]))

    async def _command(self, args: list[Any]) -> None:
        try:
            await self._connection.execute_command("GRAPH.BULK", self._graph, *args)
        except Exception as error:
            raise QueryError(f"GRAPH.BULK failed: {error}") from error

    async def write_nodes(self, batch: NodeBatch) -> None:
        count = len(batch)
        if not count:
            return
        self._numbers.add(batch.label, batch.columns["id"], range(self._next_node, self._next_node + count))
        self._next_node += count
        await self._send(count, 0, node_blob(batch), is_label=True)
        self.nodes += count

    async def write_relationships(self, batch: RelationshipBatch) -> None:
        count = len(batch)
        if not count:
            return
        sources = self._numbers.of(batch.source_label, batch.sources)
        targets = self._numbers.of(batch.target_label, batch.targets)
        await self._send(0, count, relationship_blob(batch, sources, targets), is_label=False)
        self.relationships += count

    async def finish(self) -> None:
        if self._in_flight is not None:
            await self._in_flight
            self._in_flight = None
        await self._on_finish()
