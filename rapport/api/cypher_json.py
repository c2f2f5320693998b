"""Query results in the plain JSON of Neo4j's Query API.

Nodes become ``{"elementId", "labels", "properties"}``, relationships
``{"elementId", "startNodeElementId", "endNodeElementId", "type",
"properties"}``, paths the list of their nodes and relationships in
traversal order; maps and lists are converted inside. Temporal values arrive
from the store as epoch milliseconds (Rapport's convention on both backends)
and stay numbers; byte arrays become base64 strings; anything else JSON
cannot hold (points, durations) becomes its string form.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from rapport.graph.types import GraphNode, GraphPath, GraphRelationship


def plain_json(value: Any) -> Any:
    """``value`` as the Query API's plain JSON shows it."""
    if isinstance(value, GraphNode):
        return {
            "elementId": value.element_id,
            "labels": sorted(value.labels),
            "properties": plain_json(value.properties),
        }
    if isinstance(value, GraphRelationship):
        return {
            "elementId": value.element_id,
            "startNodeElementId": value.start_element_id,
            "endNodeElementId": value.end_element_id,
            "type": value.type,
            "properties": plain_json(value.properties),
        }
    if isinstance(value, GraphPath):
        steps: list[Any] = [plain_json(value.nodes[0])] if value.nodes else []
        for relationship, node in zip(value.relationships, value.nodes[1:], strict=True):
            steps += [plain_json(relationship), plain_json(node)]
        return steps
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


def dumps(document: Any) -> bytes:
    """Serialise a response document (values already :func:`plain_json`)."""
    return orjson.dumps(document, default=str)
