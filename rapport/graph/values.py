"""Normalisation of driver values into the one record shape both backends share.

Nodes, relationships and paths become :mod:`rapport.graph.types` dataclasses;
maps become ``dict``; temporal values become epoch milliseconds (UTC); every
other value is already a plain Python scalar or list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import neo4j.graph
import neo4j.time
from falkordb.edge import Edge as FalkorEdge
from falkordb.node import Node as FalkorNode
from falkordb.path import Path as FalkorPath

from rapport.graph.types import GraphNode, GraphPath, GraphRelationship

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_millis(moment: dt.datetime | dt.date) -> int:
    """Epoch milliseconds of a date or date-time; naive values are taken as UTC."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


def now_millis() -> int:
    """The current time in epoch milliseconds."""
    return epoch_millis(dt.datetime.now(dt.UTC))


# Values both drivers hand over as they are; checked first because results are mostly these.
_PLAIN = frozenset({str, int, float, bool, type(None)})
_NOT_SPECIAL = object()

Convert = Callable[[Any], Any]


def _converter(special: Callable[[Any, Convert], Any]) -> Convert:
    """A converter that walks lists and maps itself and asks ``special`` about anything else
    (graph and temporal values); ``special`` answers ``_NOT_SPECIAL`` for what it leaves alone."""

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is list:
            return [convert(v) for v in value]
        if kind is dict:
            return {k: convert(v) for k, v in value.items()}
        converted = special(value, convert)
        if converted is not _NOT_SPECIAL:
            return converted
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        return value

    return convert


def _neo4j_special(value: Any, convert: Convert) -> Any:
    if isinstance(value, neo4j.graph.Node):
        return GraphNode(
            element_id=value.element_id,
            labels=frozenset(value.labels),
            properties={k: convert(v) for k, v in value.items()},
        )
    if isinstance(value, neo4j.graph.Relationship):
        return GraphRelationship(
            element_id=value.element_id,
            type=value.type,
            start_element_id=value.start_node.element_id if value.start_node else "",
            end_element_id=value.end_node.element_id if value.end_node else "",
            properties={k: convert(v) for k, v in value.items()},
        )
    if isinstance(value, neo4j.graph.Path):
        return GraphPath(
            nodes=tuple(convert(n) for n in value.nodes),
            relationships=tuple(convert(r) for r in value.relationships),
        )
    if isinstance(value, neo4j.time.DateTime | neo4j.time.Date):
        return epoch_millis(value.to_native())
    return _NOT_SPECIAL


def _falkordb_special(value: Any, convert: Convert) -> Any:
    if isinstance(value, FalkorNode):
        return GraphNode(
            element_id=str(value.id),
            labels=frozenset(value.labels or ()),
            properties={k: convert(v) for k, v in (value.properties or {}).items()},
        )
    if isinstance(value, FalkorEdge):
        return GraphRelationship(
            element_id=str(value.id),
            type=value.relation,
            start_element_id=str(_endpoint_id(value.src_node)),
            end_element_id=str(_endpoint_id(value.dest_node)),
            properties={k: convert(v) for k, v in (value.properties or {}).items()},
        )
    if isinstance(value, FalkorPath):
        return GraphPath(
            nodes=tuple(convert(n) for n in value.nodes()),
            relationships=tuple(convert(e) for e in value.edges()),
        )
    if isinstance(value, dt.datetime | dt.date):
        return epoch_millis(value)
    return _NOT_SPECIAL


from_neo4j: Convert = _converter(_neo4j_special)
"""Convert a value from the ``neo4j`` driver into the shared record shape."""

from_falkordb: Convert = _converter(_falkordb_special)
"""Convert a value from the ``falkordb`` client into the shared record shape."""


def _endpoint_id(endpoint: Any) -> Any:
    return endpoint.id if isinstance(endpoint, FalkorNode) else endpoint
