"""Raw query results turned into the response the selection asked for.

A plan is built once per compiled field from the selection (aliases,
fragments and all), then applied to every row: it keeps only the keys each
selection asked for, turns epoch milliseconds into ``DateTime`` values,
encodes cursors and computes page info from the extra row the query
fetched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from rapport.resolvers.pagination import Page, encode_cursor, page_of
from rapport.resolvers.projection import Compiler
from rapport.resolvers.selection import Selected
from rapport.resolvers.values import datetime_of
from rapport.schema.graphql_model import LabelView, RelationshipField, ScalarKind

Shape = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class ObjectPlan:
    entries: tuple[tuple[str, Shape], ...]

    def __call__(self, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        if raw is None:
            return None
        return {key: shape(raw.get(key)) for key, shape in self.entries}


@dataclass(frozen=True)
class ConnectionPlan:
    """Turns ``{e, s, g_*}`` into the connection object the client selected."""

    page: Page
    entries: tuple[tuple[str, str, Any], ...]  # (response key, what, sub-plan)

    def __call__(self, raw: dict[str, Any]) -> dict[str, Any]:
        rows = raw.get("e") or []
        more = len(rows) > self.page.size
        rows = rows[: self.page.size]
        if self.page.backward:
            rows = rows[::-1]
        result: dict[str, Any] = {}
        for key, what, plan in self.entries:
            if what == "edges":
                result[key] = [plan(row) for row in rows]
            elif what == "nodes":
                result[key] = [plan(row["n"]) for row in rows]
            elif what == "pageInfo":
                result[key] = plan(self._page_info(rows, more))
            elif what == "totalCount":
                result[key] = raw["s"]["count"]
            elif what == "aggregate":
                result[key] = plan(raw)
            else:
                result[key] = plan
        return result

    def _page_info(self, rows: list[dict[str, Any]], more: bool) -> dict[str, Any]:
        backward = self.page.backward
        return {
            "hasNextPage": more if not backward else self.page.before is not None,
            "hasPreviousPage": more if backward else self.page.after is not None,
            "startCursor": encode_cursor(rows[0]["c"]) if rows else None,
            "endCursor": encode_cursor(rows[-1]["c"]) if rows else None,
        }


@dataclass(frozen=True)
class EdgePlan:
    entries: tuple[tuple[str, str, Any], ...]  # (response key, what, sub-plan or field)

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, what, plan in self.entries:
            if what == "cursor":
                result[key] = encode_cursor(row["c"])
            elif what == "node":
                result[key] = plan(row["n"])
            elif what == "property":
                name, shape = plan
                result[key] = shape((row.get("p") or {}).get(name))
            else:
                result[key] = plan
        return result


@dataclass(frozen=True)
class AggregatePlan:
    entries: tuple[tuple[str, str, Any], ...]

    def __call__(self, raw: dict[str, Any]) -> dict[str, Any]:
        stats = raw.get("s") or {}
        result: dict[str, Any] = {}
        for key, what, plan in self.entries:
            if what == "count":
                result[key] = stats.get("count")
            elif what == "countBy":
                result[key] = [plan(group) for group in raw.get(f"g_{plan.key}") or []]
            elif what == "stats":
                function, fields = plan
                result[key] = {k: shape(stats.get(f"{function}_{name}")) for k, name, shape in fields}
            else:
                result[key] = plan
        return result


@dataclass(frozen=True)
class GroupPlan:
    key: str
    entries: tuple[tuple[str, str], ...]

    def __call__(self, group: dict[str, Any]) -> dict[str, Any]:
        return {key: group.get(name) if name != "__typename" else "GroupCount" for key, name in self.entries}


@dataclass(frozen=True)
class ScorePlan:
    """Turns a raw score (see :func:`~rapport.resolvers.projection.score_map`) into a ``Score``;
    a record never scored has none."""

    # (response key, Score field, and for reasons: the (response key, ScoreReason field) pairs asked)
    entries: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]

    def __call__(self, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        if raw is None or raw.get("value") is None:
            return None
        values = {
            "value": raw["value"],
            "confidence": raw.get("Confidence"),
            "modelVersion": raw.get("Model"),
            "computedAt": datetime_of(raw.get("At")),
            "__typename": "Score",
        }
        stored = orjson.loads(raw["Reasons"]) if raw.get("Reasons") else []
        reasons = [{**reason, "__typename": "ScoreReason"} for reason in stored]
        return {
            key: [{k: reason.get(n) for k, n in asked} for reason in reasons]
            if name == "reasons"
            else values[name]
            for key, name, asked in self.entries
        }


@dataclass(frozen=True)
class SimilarPlan:
    """Turns the raw ``[{score, n}]`` of a ``similar`` field into its list of lookalikes."""

    type_name: str
    entries: tuple[tuple[str, str], ...]  # (response key, field of the Similar<Label> type)
    node: ObjectPlan

    def __call__(self, raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        values = (
            {"score": item["score"], "node": self.node(item["n"]), "__typename": self.type_name}
            for item in raw or []
        )
        return [{key: value[name] for key, name in self.entries} for value in values]


def _scalar_shape(kind: ScalarKind) -> Shape:
    return datetime_of if kind is ScalarKind.DATETIME else _same


class ShapePlanner:
    """Builds plans with the same selection rules as the compiler that built the query."""

    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler

    def object(self, view: LabelView, selections: dict[str, Selected], path: str) -> ObjectPlan:
        entries: list[tuple[str, Shape]] = []
        for key, selected in selections.items():
            name = selected.name
            if name in view.scores:
                entries.append((key, self._score(selected)))
            elif name == "similar" and view.embedded:
                entries.append((key, self._similar(view, selected, f"{path}.{key}")))
            elif name in view.fields:
                entries.append((key, _scalar_shape(view.fields[name].kind)))
            elif name in view.relationships:
                entries.append(
                    (key, self.connection(view.relationships[name], None, selected, f"{path}.{key}"))
                )
            else:  # id and __typename arrive final from the query
                entries.append((key, _same))
        return ObjectPlan(tuple(entries))

    def connection(
        self,
        rel: RelationshipField | None,
        root: LabelView | None,
        selected: Selected,
        path: str,
        args: dict[str, Any] | None = None,
    ) -> ConnectionPlan:
        compiler = self.compiler
        view = compiler.model.view(rel.other) if rel else root
        assert view is not None
        args = selected.args(compiler.fragments.variables) if args is None else args
        page = page_of(args, view, compiler.default_page, compiler.max_page, path)
        type_name = rel.edge_type_name if rel else view.label
        parts = compiler.fragments.sub(selected, {f"{type_name}Connection"})
        entries: list[tuple[str, str, Any]] = []
        for key, part in parts.items():
            if part.name == "edges":
                entries.append((key, "edges", self._edge(view, rel, part, f"{type_name}Edge", path)))
            elif part.name == "nodes":
                entries.append(
                    (key, "nodes", self.object(view, compiler.object_selections(view, part), path))
                )
            elif part.name == "pageInfo":
                fields = compiler.fragments.sub(part, {"PageInfo"})
                info = {k: s.name for k, s in fields.items()}
                entries.append((key, "pageInfo", lambda raw, info=info: {
                    k: raw[n] if n != "__typename" else "PageInfo" for k, n in info.items()
                }))  # fmt: skip
            elif part.name == "aggregate":
                entries.append((key, "aggregate", self._aggregate(view, part)))
            elif part.name == "totalCount":
                entries.append((key, "totalCount", None))
            else:
                entries.append((key, "typename", f"{type_name}Connection"))
        return ConnectionPlan(page, tuple(entries))

    def _edge(
        self, view: LabelView, rel: RelationshipField | None, selected: Selected, type_name: str, path: str
    ) -> EdgePlan:
        entries: list[tuple[str, str, Any]] = []
        edge_fields = {f.name: f for f in rel.edge_fields} if rel else {}
        for key, part in self.compiler.fragments.sub(selected, {type_name}).items():
            if part.name == "cursor":
                entries.append((key, "cursor", None))
            elif part.name == "node":
                entries.append(
                    (key, "node", self.object(view, self.compiler.object_selections(view, part), path))
                )
            elif part.name in edge_fields:
                entries.append((key, "property", (part.name, _scalar_shape(edge_fields[part.name].kind))))
            else:
                entries.append((key, "typename", type_name))
        return EdgePlan(tuple(entries))

    def _similar(self, view: LabelView, selected: Selected, path: str) -> SimilarPlan:
        type_name = f"Similar{view.label}"
        items = self.compiler.fragments.sub(selected, {type_name})
        node = self.object(view, self.compiler.node_selections(view, selected), path)
        return SimilarPlan(type_name, tuple((key, item.name) for key, item in items.items()), node)

    def _score(self, selected: Selected) -> ScorePlan:
        fragments = self.compiler.fragments
        return ScorePlan(
            tuple(
                (
                    key,
                    part.name,
                    tuple((k, leaf.name) for k, leaf in fragments.sub(part, {"ScoreReason"}).items()),
                )
                for key, part in fragments.sub(selected, {"Score"}).items()
            )
        )

    def _aggregate(self, view: LabelView, selected: Selected) -> AggregatePlan:
        compiler = self.compiler
        entries: list[tuple[str, str, Any]] = []
        for key, part in compiler.aggregate_parts(view, selected).items():
            if part.name == "count":
                entries.append((key, "count", None))
            elif part.name == "countBy":
                groups = compiler.fragments.sub(part, {"GroupCount"})
                plan = GroupPlan(f"{selected.key}_{key}", tuple((k, s.name) for k, s in groups.items()))
                entries.append((key, "countBy", plan))
            elif part.name in ("sum", "avg", "min", "max"):
                fields = [
                    (
                        k,
                        leaf.name,
                        _scalar_shape(view.fields[leaf.name].kind) if part.name in ("min", "max") else _same,
                    )
                    for k, leaf in compiler.aggregate_fields(view, part).items()
                    if leaf.name != "__typename"
                ]
                entries.append((key, "stats", (part.name, fields)))
            else:
                entries.append((key, "typename", f"{view.label}Aggregate"))
        return AggregatePlan(tuple(entries))
