"""FalkorDB queries in the compact result format, decoded in one synchronous pass.

falkordb-py parses every value of a result with a coroutine of its own, which
costs more than the query itself for the few thousand values an API request
reads. Here the values Rapport's queries return (nulls, strings, numbers,
booleans, lists, maps, points, vectors, dates) are decoded straight into the
shared record shape of :mod:`rapport.graph.values`. Nodes, relationships, paths
and the rarer temporal types need falkordb-py (it looks node labels up in the
graph's schema), so a row holding one is handed to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from falkordb.asyncio.graph import AsyncGraph
from falkordb.asyncio.query_result import parse_scalar
from falkordb.helpers import stringify_param_value
from redis.exceptions import ResponseError

from rapport.graph.values import epoch_millis, from_falkordb

# Value types of the compact format.
_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY = 1, 2, 3, 4, 5, 6
_MAP, _POINT, _VECTORF32, _DATETIME, _DATE = 10, 11, 12, 13, 14


@dataclass(frozen=True, slots=True)
class CompactResult:
    """A result set: column names, and rows of undecoded cells."""

    columns: list[str]
    cells: list[list[Any]]


def query_command(
    graph_name: str, cypher: str, params: Mapping[str, Any], timeout_ms: int, *, read_only: bool
) -> list[Any]:
    """The ``GRAPH.QUERY`` (or ``GRAPH.RO_QUERY``) command running ``cypher`` with ``params``."""
    header = "".join(f"`{name}`={stringify_param_value(value)} " for name, value in params.items())
    command = "GRAPH.RO_QUERY" if read_only else "GRAPH.QUERY"
    text = f"CYPHER {header}{cypher}" if header else cypher
    return [command, graph_name, text, "--compact", "timeout", timeout_ms]


def compact_result(response: list[Any]) -> CompactResult:
    """The result set of a query's reply; raises the error the reply carries, if any."""
    for part in (response[0], response[-1]):
        if isinstance(part, ResponseError):
            raise part
    if len(response) == 1:  # statistics only
        return CompactResult([], [])
    return CompactResult([column[1] for column in response[0]], response[1])


class _NeedsClient(Exception):
    """A value only falkordb-py can decode."""


def _decode(cell: list[Any]) -> Any:
    kind, value = cell
    if kind == _STRING:
        return value
    if kind == _INTEGER:
        return int(value)
    if kind == _NULL:
        return None
    if kind == _DOUBLE:
        return float(value)
    if kind == _BOOLEAN:
        return value == "true"
    if kind == _ARRAY:
        return [_decode(v) for v in value]
    if kind == _MAP:
        return {value[i]: _decode(value[i + 1]) for i in range(0, len(value), 2)}
    if kind == _POINT:
        return {"latitude": float(value[0]), "longitude": float(value[1])}
    if kind == _VECTORF32:
        return [float(v) for v in value]
    if kind == _DATETIME:
        return epoch_millis(dt.datetime.fromtimestamp(value, tz=dt.UTC))
    if kind == _DATE:
        return epoch_millis(dt.datetime.fromtimestamp(value, tz=dt.UTC).date())
    raise _NeedsClient


async def decoded_rows(cells: list[list[Any]], graph: AsyncGraph) -> list[list[Any]]:
    """Decode rows of cells into the shared record shape."""
    rows = []
    for row in cells:
        try:
            rows.append([_decode(cell) for cell in row])
        except _NeedsClient:
            rows.append([from_falkordb(await parse_scalar(cell, graph)) for cell in row])
    return rows
