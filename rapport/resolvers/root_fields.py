"""Root query fields, each compiled into one Cypher query and a function that finishes its rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rapport.graph.types import Record
from rapport.resolvers.errors import UserInputError
from rapport.resolvers.filters import RECORD_ID
from rapport.resolvers.ids import parse_global_id, record_id_for
from rapport.resolvers.projection import Compiler
from rapport.resolvers.selection import Selected
from rapport.resolvers.shaping import ShapePlanner
from rapport.schema.graphql_model import LabelView


@dataclass(frozen=True)
class RootQuery:
    """One root field's query; ``cypher`` is ``None`` when the answer needs no database trip."""

    cypher: str | None
    finish: Callable[[list[Record]], Any]


def compile_root_field(compiler: Compiler, selected: Selected) -> RootQuery:
    """The query answering ``selected`` (a field of ``Query``) with its whole selection."""
    model = compiler.model
    name, path = selected.name, selected.key
    singular = {label[:1].lower() + label[1:]: view for label, view in model.labels.items()}
    plural = {view.plural: view for view in model.labels.values()}
    args = selected.args(compiler.fragments.variables)
    if name in plural:
        return _connection(compiler, selected, plural[name], args)
    if name == "influencers":
        return _connection(compiler, selected, model.view("Customer"), influencer_args(args))
    if name in singular:
        view = singular[name]
        return records_by_ids(
            compiler, selected, [(view, record_id_for(str(args["id"]), view.label))], single=True
        )
    if name == "node":
        try:
            label, record_id = parse_global_id(str(args["id"]), model.labels.keys())
        except UserInputError:
            return RootQuery(None, lambda rows: None)  # an id that cannot exist resolves to null
        return records_by_ids(compiler, selected, [(model.view(label), record_id)], single=True)
    if name == "nodes":
        wanted = []
        for value in args["ids"]:
            try:
                label, record_id = parse_global_id(str(value), model.labels.keys())
            except UserInputError:
                label, record_id = "", str(value)
            wanted.append((model.labels.get(label), record_id))
        return records_by_ids(compiler, selected, wanted, single=False)
    raise UserInputError(f"{name} is not a query field", path)


def influencer_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The customers connection ``influencers`` stands for: those with an influence, most first."""
    where = args.get("where")
    measured = {"influence": {"isNull": False}}
    return {
        **args,
        "where": {"AND": [measured, where]} if where else measured,
        "orderBy": [{"field": "influence", "direction": "DESC"}],
    }


def _connection(compiler: Compiler, selected: Selected, view: LabelView, args: dict[str, Any]) -> RootQuery:
    plan = ShapePlanner(compiler).connection(None, view, selected, selected.key, args)
    clauses, raw = compiler.connection(view, selected, selected.key, args=args)
    return RootQuery(f"{' '.join(clauses)} RETURN {raw} AS data", lambda rows: plan(rows[0]["data"]))


def records_by_ids(
    compiler: Compiler,
    selected: Selected,
    wanted: list[tuple[LabelView | None, str]],
    *,
    single: bool,
    where: Mapping[str, Any] | None = None,
) -> RootQuery:
    """Records by label and record id with ``selected``'s selection, in the order asked; missing,
    unreadable ones and those not matching ``where`` are null.

    The query answers with one row, its records collected in one list: Neo4j sends each row as a
    message of its own, which its Python driver reads for almost the cost of a whole query."""
    branches = []
    plans = {}
    for view in {v.label: v for v, _ in wanted if v is not None}.values():
        ids = [record_id for v, record_id in wanted if v is view]
        node = compiler.qb.var("n")
        selections = compiler.object_selections(view, selected)
        conditions = {**(where or {}), RECORD_ID: {"in": ids}}
        match = compiler.filters.match_nodes(view, node, conditions, selected.key)
        nested, node_map = compiler.project(view, node, selections, selected.key)
        branches.append(
            (f"{match} {' '.join(nested)}", f"{{l: '{view.label}', i: {node}.id, d: {node_map}}}")
        )
        plans[view.label] = ShapePlanner(compiler).object(view, selections, selected.key)

    def finish(rows: list[Record]) -> Any:
        found = {(data["l"], data["i"]): data["d"] for row in rows for data in row["data"]}
        values = [
            plans[view.label](found.get((view.label, record_id))) if view is not None else None
            for view, record_id in wanted
        ]
        return values[0] if single else values

    if not branches:
        return RootQuery(None, finish)
    if len(branches) == 1:
        ((clauses, record),) = branches
        return RootQuery(f"{clauses} RETURN collect({record}) AS data", finish)
    union = " UNION ALL ".join(f"{clauses} RETURN {record} AS data" for clauses, record in branches)
    return RootQuery(f"CALL {{ {union} }} RETURN collect(data) AS data", finish)
