"""Render query results as a plain-text table for the terminal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rapport.graph.types import GraphNode, GraphPath, GraphRelationship, Record

_MAX_CELL = 60


def cell(value: Any) -> str:
    """One value as analysts read it in Neo4j Browser's table view."""
    if value is None:
        return "null"
    if isinstance(value, GraphNode):
        return f"(:{':'.join(sorted(value.labels))} {_props(value.properties)})"
    if isinstance(value, GraphRelationship):
        return f"[:{value.type} {_props(value.properties)}]"
    if isinstance(value, GraphPath):
        return " ".join(cell(n) for n in value.nodes)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, default=str, ensure_ascii=False)


def _props(properties: dict[str, Any]) -> str:
    return json.dumps(properties, default=str, ensure_ascii=False)


def table(rows: Sequence[Record]) -> str:
    """Rows as an aligned table with a header and a row count."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[_clip(cell(row.get(c))) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def render(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    body = [line, render(columns), line, *(render(r) for r in cells), line]
    body.append(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    return "\n".join(body)


def _clip(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"
