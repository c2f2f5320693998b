"""The Cypher that reads a projection, written once for both backends.

Nodes and relationships travel by internal id (``id(n)``), which both
backends hand over as plain integers; each node's record id is read once, in
the node pass. Every batch returns a single row of collected lists rather
than one row per relationship: both drivers decode one long list much faster
than many small records. A relationship batch packs its two endpoints into
one integer (``(driver - low) * span + other - base``), halving what is sent.

Names reaching query text (labels, types, properties) were checked by
:mod:`~rapport.algorithms.projection_spec`; values travel as parameters.
"""

from __future__ import annotations

from typing import Any

from rapport.algorithms.projection_spec import NodeSpec, RelationshipSpec, Window

__all__ = [
    "node_batch_query",
    "node_count_query",
    "relationship_batch_query",
    "relationship_count_query",
    "window_predicates",
]


def window_predicates(variable: str, window: Window | None, prefix: str) -> tuple[list[str], dict[str, Any]]:
    """``variable.property`` inside ``window``: the predicates and their parameters (named ``prefix_*``)."""
    if window is None:
        return [], {}
    predicates, params = [], {}
    if window.start is not None:
        predicates.append(f"{variable}.{window.property} >= ${prefix}_start")
        params[f"{prefix}_start"] = window.start
    if window.end is not None:
        predicates.append(f"{variable}.{window.property} < ${prefix}_end")
        params[f"{prefix}_end"] = window.end
    if window.missing_inside:
        inside = " AND ".join(predicates) or "true"
        return [f"({variable}.{window.property} IS NULL OR {inside})"], params
    if not predicates:  # an open window still requires the property
        predicates.append(f"{variable}.{window.property} IS NOT NULL")
    return predicates, params


def node_count_query(node: NodeSpec) -> tuple[str, dict[str, Any]]:
    """How many nodes the spec selects, and the range of their internal ids (to plan batches)."""
    where, params = window_predicates("n", node.window, "node")
    conditions = " AND ".join(["n.id IS NOT NULL", *where])
    return (
        f"MATCH (n:{node.label}) WHERE {conditions} "
        "RETURN count(n) AS count, min(id(n)) AS low, max(id(n)) AS high",
        params,
    )


def node_batch_query(node: NodeSpec) -> tuple[str, dict[str, Any]]:
    """The selected nodes with internal ids in ``[$low, $high)``: internal ids, record ids, properties
    (``p0``, ...) and categories (``c0``, ...)."""
    where, params = window_predicates("n", node.window, "node")
    conditions = " AND ".join(["id(n) >= $low", "id(n) < $high", "n.id IS NOT NULL", *where])
    columns = ["collect(id(n)) AS internal", "collect(n.id) AS ids"]
    for i, (name, default) in enumerate(node.properties.items()):
        # collect() skips nulls, which would misalign the lists: missing values get the default.
        columns.append(f"collect(coalesce(toFloat(n.{name}), $default{i})) AS p{i}")
        params[f"default{i}"] = float(default)
    for i, name in enumerate(node.categories):
        columns.append(f"collect(coalesce(toString(n.{name}), '')) AS c{i}")
    return f"MATCH (n:{node.label}) WHERE {conditions} RETURN {', '.join(columns)}", params


def relationship_count_query(rel: RelationshipSpec) -> str:
    """How many relationships of the type exist (from the count store; an estimate for planning)."""
    return f"MATCH ()-[r:{rel.type}]->() RETURN count(r) AS count"


def relationship_batch_query(
    rel: RelationshipSpec, source: NodeSpec, target: NodeSpec, *, from_source: bool
) -> tuple[str, dict[str, Any]]:
    """The relationships whose driving end has an internal id in ``[$low, $high)``.

    The driving end is the source with ``from_source``, else the target (the
    side with more nodes makes even batches). Returns ``pairs``, each
    ``(id(driver) - $low) * $span + id(other) - $base``, and with a weight
    property ``weights`` in the same order.
    """
    driver, other = ("s", "t") if from_source else ("t", "s")
    driver_spec = source if from_source else target
    s_where, s_params = window_predicates("s", source.window, "source")
    t_where, t_params = window_predicates("t", target.window, "target")
    r_where, r_params = window_predicates("r", rel.window, "rel")
    driver_where, other_where = (s_where, t_where) if from_source else (t_where, s_where)
    driving = " AND ".join([f"id({driver}) >= $low", f"id({driver}) < $high", *driver_where])
    s_node = "(s)" if from_source else f"(s:{source.label})"
    t_node = f"(t:{target.label})" if from_source else "(t)"
    # FalkorDB collapses parallel relationships into one row when the query never
    # mentions the relationship variable; `0 * id(r)` keeps every relationship.
    columns = [f"collect((id({driver}) - $low) * $span + id({other}) - $base + 0 * id(r)) AS pairs"]
    params: dict[str, Any] = {**s_params, **t_params, **r_params}
    if rel.weight is not None:
        columns.append(f"collect(coalesce(toFloat(r.{rel.weight}), $default_weight)) AS weights")
        params["default_weight"] = float(rel.default_weight)
    # Only other ends in [$base, $base + $span) decode correctly; the projected ones all are.
    rest = [f"id({other}) >= $base", f"id({other}) < $base + $span", *other_where, *r_where]
    cypher = (
        f"MATCH ({driver}:{driver_spec.label}) WHERE {driving} "
        f"MATCH {s_node}-[r:{rel.type}]->{t_node} WHERE {' AND '.join(rest)} "
        f"RETURN {', '.join(columns)}"
    )
    return cypher, params
