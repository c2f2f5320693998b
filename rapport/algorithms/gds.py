"""PageRank and Louvain inside Neo4j, through the Graph Data Science plugin.

Where the Neo4j backend has GDS, :class:`GdsEngine` runs the algorithms of
:mod:`~rapport.algorithms.influence` and :mod:`~rapport.algorithms.communities`
next to the data instead of streaming it out. It takes the same
:class:`~rapport.algorithms.projection_spec.ProjectionSpec` (a Cypher
projection built from it: the same labels, types, weights, default weights
and time windows) and returns the same :class:`~rapport.algorithms.nodes.NodeValues`,
so the engines are interchangeable:

- PageRank: GDS scores are scaled to sum to 1. With uniform (or source-node)
  teleport they are proportional to the in-process scores, whose dangling
  mass goes back to the teleport distribution; only the stopping rules differ
  (GDS stops when no score changes by more than ``tol``).
- Louvain: the undirected projection and weights match
  :func:`~rapport.algorithms.communities.louvain` on ``to_csr(direction="undirected")``;
  community numbers are GDS's, so compare partitions (e.g. by NMI), not numbers.

The ``graphdatascience`` client is synchronous; the methods run it in a thread.

Examples
--------
>>> engine = GdsEngine.connect(settings)  # doctest: +SKIP
>>> (await engine.pagerank(spec)).top(10)  # doctest: +SKIP
>>> engine.close()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import neo4j.exceptions as neo4j_errors
import numpy as np
from graphdatascience import GraphDataScience
from graphdatascience.graph.graph_api import Graph

from rapport.algorithms.nodes import NodeValues
from rapport.algorithms.projection_cypher import window_predicates
from rapport.algorithms.projection_spec import ProjectionSpec
from rapport.config import Settings

__all__ = ["GdsEngine", "GdsUnavailable", "cypher_projection"]


class GdsUnavailable(Exception):
    """No Graph Data Science here: not the Neo4j backend, or the plugin is not installed."""


def cypher_projection(spec: ProjectionSpec, *, undirected: bool) -> tuple[str, dict[str, Any]]:
    """The GDS Cypher projection of ``spec`` into the graph named ``$graph``.

    Every selected node is projected (isolated ones too) under its spec label;
    every relationship gets the property ``weight`` (its weight property, or
    the spec's default weight). Parameters are named apart per branch.
    """
    branches, params = [], {}
    for i, node in enumerate(spec.nodes):
        where, window_params = window_predicates("n", node.window, f"n{i}")
        params.update(window_params)
        branches.append(
            f"MATCH (n:{node.label}) WHERE {' AND '.join(['n.id IS NOT NULL', *where])} "
            f"RETURN n AS source, null AS target, '{node.label}' AS sourceLabel, null AS targetLabel, "
            "null AS type, null AS weight"
        )
    for j, rel in enumerate(spec.relationships):
        conditions = ["s.id IS NOT NULL", "t.id IS NOT NULL"]
        for variable, window, prefix in (
            ("s", spec.node(rel.source).window, f"r{j}_source"),
            ("t", spec.node(rel.target).window, f"r{j}_target"),
            ("r", rel.window, f"r{j}"),
        ):
            where, window_params = window_predicates(variable, window, prefix)
            conditions += where
            params.update(window_params)
        weight = f"coalesce(toFloat(r.{rel.weight}), $w{j})" if rel.weight else f"$w{j}"
        params[f"w{j}"] = float(rel.default_weight)
        branches.append(
            f"MATCH (s:{rel.source})-[r:{rel.type}]->(t:{rel.target}) WHERE {' AND '.join(conditions)} "
            f"RETURN s AS source, t AS target, '{rel.source}' AS sourceLabel, '{rel.target}' AS targetLabel, "
            f"'{rel.type}' AS type, {weight} AS weight"
        )
    params["undirected"] = ["*"] if undirected else []
    query = (
        f"CALL {{ {' UNION ALL '.join(branches)} }} "
        "RETURN gds.graph.project($graph, source, target, {sourceNodeLabels: sourceLabel, "
        "targetNodeLabels: targetLabel, relationshipType: type, "
        "relationshipProperties: CASE WHEN target IS NULL THEN null ELSE {weight: weight} END}, "
        "{undirectedRelationshipTypes: $undirected})"
    )
    return query, params


class GdsEngine:
    """The in-database engine: PageRank and Louvain on a GDS projection of a spec."""

    def __init__(self, client: GraphDataScience) -> None:
        self._gds = client

    @classmethod
    def connect(cls, settings: Settings) -> GdsEngine:
        """Connect to the Neo4j of ``settings``; :class:`GdsUnavailable` when GDS is not there."""
        if not settings.neo4j_uri:
            raise GdsUnavailable("Graph Data Science needs the Neo4j backend (RAPPORT_NEO4J_URI)")
        try:
            client = GraphDataScience(
                settings.neo4j_uri,
                auth=(settings.neo4j_user, settings.neo4j_password.get_secret_value()),
                database=settings.neo4j_database,
                arrow=False,
                show_progress=False,
            )
        except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as error:
            raise GdsUnavailable(
                f"Graph Data Science is not available on {settings.neo4j_uri}: {error}"
            ) from error
        return cls(client)

    def close(self) -> None:
        self._gds.close()

    @contextmanager
    def _projected(self, spec: ProjectionSpec, *, undirected: bool) -> Iterator[Graph]:
        query, params = cypher_projection(spec, undirected=undirected)
        graph, _ = self._gds.graph.project.cypher(query, graph=f"rapport-{uuid.uuid4()}", **params)
        try:
            yield graph
        finally:
            graph.drop()

    def _stream(
        self, spec: ProjectionSpec, graph: Graph, procedure: str, column: str, config: dict[str, Any]
    ) -> NodeValues:
        """Run ``gds.<procedure>.stream`` and put each node's label (the first of the spec's it
        has) and record id to its ``column`` value.

        Results come back as collected lists through ``run_cypher``: the client's
        row-wise DataFrames take seconds per hundred thousand nodes.
        """
        row = self._gds.run_cypher(
            f"CALL gds.{procedure}.stream($graph, $config) YIELD nodeId, {column} "
            f"WITH gds.util.asNode(nodeId) AS n, {column} AS value "
            "RETURN collect([l IN labels(n) WHERE l IN $labels][0]) AS labels, collect(n.id) AS ids, "
            "collect(value) AS values",
            {"graph": graph.name(), "config": config, "labels": list(spec.labels)},
            mode="READ",
        ).iloc[0]
        return NodeValues(
            np.array(row["labels"], dtype=str), np.array(row["ids"], dtype=str), np.asarray(row["values"])
        )

    def _node_ids(self, spec: ProjectionSpec, nodes: Sequence[tuple[str, str]]) -> list[int]:
        found: list[int] = []
        for label in spec.labels:
            ids = [record_id for of, record_id in nodes if of == label]
            if ids:
                rows = self._gds.run_cypher(
                    f"MATCH (n:{label}) WHERE n.id IN $ids RETURN collect(id(n)) AS nodes",
                    {"ids": ids},
                    mode="READ",
                )
                found += rows.iloc[0]["nodes"]
        return found

    async def pagerank(
        self,
        spec: ProjectionSpec,
        *,
        damping: float = 0.85,
        tol: float = 1e-7,
        max_iter: int = 20,
        sources: Sequence[tuple[str, str]] = (),
        undirected: bool = False,
        weighted: bool = True,
    ) -> NodeValues:
        """PageRank over ``spec`` (personalized on ``sources``, ``(label, record id)`` pairs).

        The scores are scaled to sum to 1. ``tol`` and ``max_iter`` are GDS's
        ``tolerance`` and ``maxIterations``.
        """

        config: dict[str, Any] = {"dampingFactor": damping, "tolerance": tol, "maxIterations": max_iter}
        if weighted:
            config["relationshipWeightProperty"] = "weight"

        def run() -> NodeValues:
            if sources:
                config["sourceNodes"] = self._node_ids(spec, sources)
            with self._projected(spec, undirected=undirected) as graph:
                ranked = self._stream(spec, graph, "pageRank", "score", config)
            total = ranked.values.sum()
            return NodeValues(ranked.labels, ranked.ids, ranked.values / total if total else ranked.values)

        return await asyncio.to_thread(run)

    async def louvain(
        self,
        spec: ProjectionSpec,
        *,
        weighted: bool = True,
        tolerance: float = 1e-4,
        max_levels: int = 10,
        concurrency: int = 1,
    ) -> NodeValues:
        """Louvain communities over ``spec`` taken as undirected: a community id per node.

        ``concurrency=1`` makes GDS's result reproducible; more threads are faster.
        """

        config: dict[str, Any] = {"tolerance": tolerance, "maxLevels": max_levels, "concurrency": concurrency}
        if weighted:
            config["relationshipWeightProperty"] = "weight"

        def run() -> NodeValues:
            with self._projected(spec, undirected=True) as graph:
                return self._stream(spec, graph, "louvain", "communityId", config)

        return await asyncio.to_thread(run)
