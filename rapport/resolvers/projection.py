"""A selection set compiled into Cypher: map projections, and a ``CALL`` per nested connection.

The query returns exactly the data the selection asks for, in one round
trip; :mod:`rapport.resolvers.shaping` then turns the raw maps into the
response (cursors, page info, date-times).

Raw shapes the Cypher produces:
- an object: a map keyed by response key;
- a connection: ``{e: [edge], s: {count, sum_f, avg_f, min_f, max_f}, g_<key>: [{value, count}]}``,
  ``e`` holding up to one row more than the page, so the next page's existence is known;
- an edge: ``{c: [sort-key values], n: object, p: {relationship properties}}``;
- a score: ``{value, Confidence, Reasons, Model, At}`` (the value and its sibling properties).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rapport.algorithms.embedding_store import EMBEDDING, vector_index
from rapport.auth.actor import Actor
from rapport.graph.types import Dialect
from rapport.resolvers.access import read_rules
from rapport.resolvers.cypher import QueryBuilder
from rapport.resolvers.filters import FilterCompiler, conjunction, filtered_match
from rapport.resolvers.limits import Limits
from rapport.resolvers.pagination import Page, page_of
from rapport.resolvers.selection import Fragments, Selected
from rapport.resolvers.values import bounded_count
from rapport.schema.graphql_model import SIMILAR_DEFAULT_K, GraphQLModel, LabelView, RelationshipField
from rapport.schema.model import SCORE_SIBLINGS, sibling_fields

CONNECTION_KEYS = frozenset({"edges", "nodes", "pageInfo", "totalCount", "aggregate", "__typename"})
AGGREGATE_TYPES = {"sum": "Sums", "avg": "Averages", "min": "Extremes", "max": "Extremes"}


@dataclass(frozen=True)
class _Scope:
    """One part of a connection being compiled: whose records, through which relationship,
    bound to which variables, with which arguments."""

    view: LabelView
    rel: RelationshipField | None
    owner: str | None
    node: str
    edge: str
    args: dict[str, Any]
    path: str

    @property
    def with_owner(self) -> str:
        return f"WITH {self.owner} " if self.owner else ""


@dataclass
class Compiler:
    """Compiles selections of one request; every query it builds shares ``qb``'s parameters."""

    model: GraphQLModel
    fragments: Fragments
    filters: FilterCompiler
    qb: QueryBuilder
    default_page: int
    max_page: int
    dialect: Dialect

    @classmethod
    def for_actor(
        cls, model: GraphQLModel, fragments: Fragments, actor: Actor, limits: Limits, dialect: Dialect
    ) -> Compiler:
        """A compiler for one request of ``actor``: reads follow the actor's read rules."""
        qb = QueryBuilder()
        filters = FilterCompiler(model, qb, read_rules(actor))
        return cls(model, fragments, filters, qb, limits.default_page, limits.max_page, dialect)

    # -- objects ----------------------------------------------------------------
    def project(
        self, view: LabelView, var: str, selections: dict[str, Selected], path: str
    ) -> tuple[list[str], str]:
        """``CALL`` clauses to run with ``var`` bound, and the map expression of its selection."""
        calls: list[str] = []
        entries = []
        for key, selected in selections.items():
            name = selected.name
            if name == "__typename":
                entries.append(f"{key}: '{view.label}'")
            elif name == "id":
                entries.append(f"{key}: '{view.label}:' + {var}.id")
            elif name in view.scores:
                entries.append(f"{key}: {score_map(var, name)}")
            elif name in view.fields:
                entries.append(f"{key}: {var}.{name}")
            elif name in view.relationships:
                clauses, raw = self.connection(
                    self.model.view(view.relationships[name].other), selected, f"{path}.{key}",
                    owner=var, rel=view.relationships[name],
                )  # fmt: skip
                calls.extend(clauses)
                entries.append(f"{key}: {raw}")
            elif name == "similar" and view.embedded:
                clause, raw = self.similar(view, var, selected, f"{path}.{key}")
                calls.append(clause)
                entries.append(f"{key}: {raw}")
        return calls, "{" + ", ".join(entries) + "}"

    def similar(self, view: LabelView, owner: str, selected: Selected, path: str) -> tuple[str, str]:
        """A ``CALL`` finding the owner's ``k`` nearest readable records by embedding (the dialect's
        search), and the raw list ``[{score, n: object}]`` it yields, most similar first (ties by id)."""
        k = bounded_count(
            selected.args(self.fragments.variables), "k", SIMILAR_DEFAULT_K, self.max_page, path
        )
        other, out = self.qb.var("n"), self.qb.var("m")
        search = self.dialect.vector_nodes(
            vector_index(view.label),
            view.label,
            EMBEDDING,
            k=self.qb.param(k + 1),
            vector=f"{owner}.{EMBEDDING}",
        )
        rule = self.filters.node(self.filters.with_rule(None, view.label), view, other, f"{path}.node")
        readable = (
            f"{' '.join(rule.calls)} WITH {other}, score WHERE {rule.predicate} " if rule.predicate else ""
        )
        nested, node_map = self.project(view, other, self.node_selections(view, selected), path)
        return (
            f"CALL {{ WITH {owner} WITH {owner} WHERE {owner}.{EMBEDDING} IS NOT NULL {search} "
            f"WITH {owner}, node AS {other}, score WHERE {other} <> {owner} {readable}"
            f"WITH {other}, score ORDER BY score DESC, {other}.id LIMIT {self.qb.param(k)} "
            f"{' '.join(nested)} "
            f"RETURN collect({{score: score, n: {node_map}}}) AS {out} }}",
            out,
        )

    def node_selections(self, view: LabelView, selected: Selected) -> dict[str, Selected]:
        """What is selected of the ``node`` of each item of a list like ``similar``."""
        nodes = [
            node
            for item in self.fragments.sub(selected, {f"Similar{view.label}"}).values()
            if item.name == "node"
            for node in item.nodes
        ]
        return self.fragments.collect((n.selection_set for n in nodes), {view.label, "Node"})

    def object_selections(self, view: LabelView, selected: Selected) -> dict[str, Selected]:
        return self.fragments.sub(selected, {view.label, "Node"})

    # -- connections --------------------------------------------------------------
    def connection(
        self,
        view: LabelView,
        selected: Selected,
        path: str,
        owner: str | None = None,
        rel: RelationshipField | None = None,
        args: dict[str, Any] | None = None,
    ) -> tuple[list[str], str]:
        """Clauses computing a connection's parts, and the raw connection map built from them.

        Without ``owner`` the records are matched at the top of the query; with
        one, each part is a ``CALL`` that aggregates without grouping keys, so
        it yields exactly one row for every owner (an empty list, a zero count).
        ``args`` replace the field's own arguments (a root field with a fixed order).
        """
        args = selected.args(self.fragments.variables) if args is None else args
        page = page_of(args, view, self.default_page, self.max_page, path)
        parts = self.fragments.sub(selected, {f"{rel.edge_type_name if rel else view.label}Connection"})
        edge_sel, node_sel = self._edge_and_node_selections(view, rel, parts)
        clauses: list[str] = []
        entries = []
        if edge_sel is not None or node_sel is not None or _wants(parts, "pageInfo"):
            scope, out = self._scope(view, rel, owner, args, path), self.qb.var("e")
            rows, edge_map = self._page(scope, page, edge_sel, node_sel or {})
            if owner:
                clauses.append(f"CALL {{ WITH {owner} {rows} RETURN collect({edge_map}) AS {out} }}")
            else:
                clauses.append(f"{rows} WITH collect({edge_map}) AS {out}")
            entries.append(f"e: {out}")
        stats = self._stats(view, parts)
        if stats:
            scope, out = self._scope(view, rel, owner, args, path), self.qb.var("s")
            exprs = ", ".join(
                f"{k}: {self._aggregate(fn, scope.node, field, view)}" for k, (fn, field) in stats.items()
            )
            clauses.append(f"CALL {{ {scope.with_owner}{self._match(scope)} RETURN {{{exprs}}} AS {out} }}")
            entries.append(f"s: {out}")
        for key, field in self._groupings(view, parts).items():
            scope, out = self._scope(view, rel, owner, args, path), self.qb.var("g")
            clauses.append(
                f"CALL {{ {scope.with_owner}{self._match(scope)} "
                f"WITH {scope.node}.{field} AS v, count(*) AS k ORDER BY v "
                f"RETURN collect({{value: v, count: k}}) AS {out} }}"
            )
            entries.append(f"g_{key}: {out}")
        return clauses, "{" + ", ".join(entries) + "}"

    def _scope(
        self,
        view: LabelView,
        rel: RelationshipField | None,
        owner: str | None,
        args: dict[str, Any],
        path: str,
    ) -> _Scope:
        return _Scope(view, rel, owner, self.qb.var("n"), self.qb.var("r"), args, path)

    def _edge_and_node_selections(
        self, view: LabelView, rel: RelationshipField | None, parts: dict[str, Selected]
    ) -> tuple[dict[str, Selected] | None, dict[str, Selected] | None]:
        edge_type = f"{rel.edge_type_name if rel else view.label}Edge"
        edge_sel = None
        node_nodes = []
        for selected in parts.values():
            if selected.name == "edges":
                edge_sel = {**(edge_sel or {}), **self.fragments.sub(selected, {edge_type})}
            elif selected.name == "nodes":
                node_nodes.extend(selected.nodes)
        for selected in (edge_sel or {}).values():
            if selected.name == "node":
                node_nodes.extend(selected.nodes)
        node_sel = (
            self.fragments.collect((n.selection_set for n in node_nodes), {view.label, "Node"})
            if node_nodes
            else None
        )
        return edge_sel, node_sel

    def _page(
        self, scope: _Scope, page: Page, edge_sel: dict[str, Selected] | None, node_sel: dict[str, Selected]
    ) -> tuple[str, str]:
        """The clauses yielding one page of rows (plus one), and the raw edge map of a row."""
        node, edge = scope.node, scope.edge
        carried = f"{edge}, {node}" if scope.rel else node
        limit = self.qb.param(page.size + 1)
        nested, node_map = self.project(scope.view, node, node_sel, scope.path)
        entries = [f"c: {page.cursor_values(node)}", f"n: {node_map}"]
        if scope.rel and edge_sel:
            props = sorted(
                {s.name for s in edge_sel.values() if s.name not in ("node", "cursor", "__typename")}
            )
            if props:
                entries.append("p: {" + ", ".join(f"{p}: {edge}.{p}" for p in props) + "}")
        rows = (
            f"{self._match(scope, page)} WITH {carried} ORDER BY {page.order_by(node)} LIMIT {limit} "
            f"{' '.join(nested)}"
        )
        return rows, "{" + ", ".join(entries) + "}"

    def _match(self, scope: _Scope, page: Page | None = None) -> str:
        """``MATCH`` the connection's records, filtered by where, edgeWhere, the read rule and the cursors."""
        view, rel, node, edge, path = scope.view, scope.rel, scope.node, scope.edge, scope.path
        pattern = rel.pattern(scope.owner or "", edge, node) if rel else f"({node}:{view.label})"
        where = self.filters.with_rule(scope.args.get("where"), view.label)
        parts = [self.filters.node(where, view, node, f"{path}.where")]
        if rel:
            parts.append(
                self.filters.edge(scope.args.get("edgeWhere"), rel.edge_fields, edge, f"{path}.edgeWhere")
            )
        keyset = page.predicate(node, self.qb) if page else None
        carried = ", ".join(v for v in (scope.owner, edge if rel else None, node) if v)
        return filtered_match(pattern, conjunction(parts), carried, keyset)

    # -- aggregates -----------------------------------------------------------------
    def aggregate_parts(self, view: LabelView, selected: Selected) -> dict[str, Selected]:
        return self.fragments.sub(selected, {f"{view.label}Aggregate"})

    def aggregate_fields(self, view: LabelView, selected: Selected) -> dict[str, Selected]:
        """The fields asked of ``sum``/``avg``/``min``/``max``."""
        return self.fragments.sub(selected, {f"{view.label}{AGGREGATE_TYPES[selected.name]}"})

    def _stats(self, view: LabelView, parts: dict[str, Selected]) -> dict[str, tuple[str, str | None]]:
        """Raw stat name -> (function, field) for totalCount and the aggregate's count/sum/avg/min/max."""
        stats: dict[str, tuple[str, str | None]] = {}
        for selected in parts.values():
            if selected.name == "totalCount":
                stats["count"] = ("count", None)
            elif selected.name == "aggregate":
                for inner in self.aggregate_parts(view, selected).values():
                    if inner.name == "count":
                        stats["count"] = ("count", None)
                    elif inner.name in AGGREGATE_TYPES:
                        for leaf in self.aggregate_fields(view, inner).values():
                            if leaf.name != "__typename":
                                stats[f"{inner.name}_{leaf.name}"] = (inner.name, leaf.name)
        return stats

    def _groupings(self, view: LabelView, parts: dict[str, Selected]) -> dict[str, str]:
        groupings = {}
        for selected in parts.values():
            if selected.name == "aggregate":
                for inner in self.aggregate_parts(view, selected).values():
                    if inner.name == "countBy":
                        groupings[f"{selected.key}_{inner.key}"] = inner.args(self.fragments.variables)[
                            "field"
                        ]
        return groupings

    @staticmethod
    def _aggregate(function: str, node: str, field: str | None, view: LabelView) -> str:
        if field is None:
            return f"count({node})"
        expression = f"{function}({node}.{field})"
        if function == "sum" and view.fields[field].kind.value in ("Int", "Long"):
            return f"toInteger({expression})"  # FalkorDB sums integers as floats
        return expression


def score_map(var: str, score: str) -> str:
    """The raw score object: the value and its siblings (see :data:`~rapport.schema.model.SCORE_SIBLINGS`)."""
    siblings = ", ".join(
        f"{suffix}: {var}.{name}" for suffix, name in zip(SCORE_SIBLINGS, sibling_fields(score), strict=True)
    )
    return f"{{value: {var}.{score}, {siblings}}}"


def _wants(parts: dict[str, Selected], name: str) -> bool:
    return any(selected.name == name for selected in parts.values())
