"""Normalisation of driver values into the one record shape both backends share.

Nodes, relationships and paths become :mod:`rapport.graph.types` dataclasses;
maps become ``dict``; temporal values become epoch milliseconds (UTC); every
other value is already a plain Python scalar or list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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


def from_neo4j(value: Any) -> Any:
    """Convert a value from the ``neo4j`` driver into the shared record shape."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [from_neo4j(v) for v in value]
    if kind is dict:
        return {k: from_neo4j(v) for k, v in value.items()}
    if isinstance(value, neo4j.graph.Node):
        return GraphNode(
            element_id=value.element_id,
            labels=frozenset(value.labels),
            properties={k: from_neo4j(v) for k, v in value.items()},
        )
    if isinstance(value, neo4j.graph.Relationship):
        return GraphRelationship(
            element_id=value.element_id,
            type=value.type,
            start_element_id=value.start_node.element_id if value.start_node else "",
            end_element_id=value.end_node.element_id if value.end_node else "",
            properties={k: from_neo4j(v) for k, v in value.items()},
        )
    if isinstance(value, neo4j.graph.Path):
        return GraphPath(
            nodes=tuple(from_neo4j(n) for n in value.nodes),
            relationships=tuple(from_neo4j(r) for r in value.relationships),
        )
    if isinstance(value, neo4j.time.DateTime | neo4j.time.Date):
        return epoch_millis(value.to_native())
    if isinstance(value, list):
        return [from_neo4j(v) for v in value]
    if isinstance(value, Mapping):
        return {k: from_neo4j(v) for k, v in value.items()}
    return value


def from_falkordb(value: Any) -> Any:
    """Convert a value from the ``falkordb`` client into the shared record shape."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [from_falkordb(v) for v in value]
    if kind is dict:
        return {k: from_falkordb(v) for k, v in value.items()}
    if isinstance(value, FalkorNode):
        return GraphNode(
            element_id=str(value.id),
            labels=frozenset(value.labels or ()),
            properties={k: from_falkordb(v) for k, v in (value.properties or {}).items()},
        )
    if isinstance(value, FalkorEdge):
        return GraphRelationship(
            element_id=str(value.id),
            type=value.relation,
            start_element_id=str(_endpoint_id(value.src_node)),
            end_element_id=str(_endpoint_id(value.dest_node)),
            properties={k: from_falkordb(v) for k, v in (value.properties or {}).items()},
        )
    if isinstance(value, FalkorPath):
        return GraphPath(
            nodes=tuple(from_falkordb(n) for n in value.nodes()),
            relationships=tuple(from_falkordb(e) for e in value.edges()),
        )
    if isinstance(value, dt.datetime | dt.date):
        return epoch_millis(value)
    if isinstance(value, list):
        return [from_falkordb(v) for v in value]
    if isinstance(value, Mapping):
        return {k: from_falkordb(v) for k, v in value.items()}
    return value


def _endpoint_id(endpoint: Any) -> Any:
    return endpoint.id if isinstance(endpoint, FalkorNode) else endpoint
