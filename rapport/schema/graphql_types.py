"""The GraphQL schema, generated from the CRM model (custom fields included).

Strawberry defines the types: they give validation, introspection, GraphiQL
and (for mutations and subscriptions) execution. Query fields over the graph
are not executed field by field: :mod:`rapport.resolvers` compiles each root
field's whole selection into one Cypher query, so their resolvers here only
carry the argument signatures.

Types are created at runtime because custom fields are declared at runtime;
each schema gets its own namespace module so string annotations (and the
cycles between types, e.g. Account <-> Deal) resolve lazily by name.
"""

from __future__ import annotations

import datetime
import enum
import inspect
import itertools
import keyword
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, NewType

import strawberry
from strawberry.schema.config import StrawberryConfig

from rapport.schema.graphql_model import (
    NUMERIC_KINDS,
    GraphQLModel,
    LabelView,
    RelationshipField,
    ScalarField,
    ScalarKind,
    pascal,
)

Long = NewType("Long", int)
"""A 64-bit integer (money in minor units, large sums): GraphQL's Int has only 32 bits."""

_LONG = strawberry.scalar(name="Long", serialize=int, parse_value=int, description=Long.__doc__)

_schema_serial = itertools.count()

_OUTPUT_ANNOTATIONS = {
    ScalarKind.STRING: "str",
    ScalarKind.INT: "int",
    ScalarKind.LONG: "Long",
    ScalarKind.FLOAT: "float",
    ScalarKind.BOOLEAN: "bool",
    ScalarKind.DATETIME: "datetime.datetime",
    ScalarKind.STRING_LIST: "list[str]",
}
_FILTER_INPUTS = {
    ScalarKind.STRING: "StringFilter",
    ScalarKind.INT: "IntFilter",
    ScalarKind.LONG: "LongFilter",
    ScalarKind.FLOAT: "FloatFilter",
    ScalarKind.BOOLEAN: "BooleanFilter",
    ScalarKind.DATETIME: "DateTimeFilter",
    ScalarKind.STRING_LIST: "StringListFilter",
}
COMPARISONS = ("eq", "ne", "lt", "lte", "gt", "gte")
LIST_OPERATORS = ("in", "notIn")
STRING_OPERATORS = ("contains", "startsWith", "endsWith")
_DIRECTIONS = {"out": "outgoing", "in": "incoming"}


@strawberry.interface(name="Node", description="A record with a global id; fetch any with node(id:).")
class NodeInterface:
    id: strawberry.ID


@strawberry.type(description="Relay page information.")
class PageInfo:
    hasNextPage: bool
    hasPreviousPage: bool
    startCursor: str | None
    endCursor: str | None


@strawberry.type(description="How many records hold one value of an enum field.")
class GroupCount:
    value: str | None
    count: int


@strawberry.enum(description="Sort direction; nulls always sort last.")
class SortDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


class CompiledField(Exception):
    """A query field was resolved by graphql-core instead of the Cypher compiler."""


def _compiled_only(*_: Any, **__: Any) -> Any:
    raise CompiledField("query fields over the graph are executed by rapport.resolvers, not per field")


class _Namespace:
    """A fresh module holding one schema's generated classes, so annotations resolve by name."""

    def __init__(self) -> None:
        self.module = types.ModuleType(f"rapport.schema.generated_{next(_schema_serial)}")
        sys.modules[self.module.__name__] = self.module
        for name, value in {
            "typing": typing, "datetime": datetime, "strawberry": strawberry, "Long": Long,
            "PageInfo": PageInfo, "GroupCount": GroupCount, "SortDirection": SortDirection,
            "NodeInterface": NodeInterface,
        }.items():  # fmt: skip
            setattr(self.module, name, value)

    def add(
        self,
        name: str,
        annotations: dict[str, str],
        *,
        kind: Callable[..., Any] = strawberry.type,
        defaults: dict[str, Any] | None = None,
        bases: tuple[type, ...] = (),
        description: str | None = None,
    ) -> None:
        namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": self.module.__name__}
        namespace.update(defaults or {})
        cls = type(name, bases, namespace)
        setattr(self.module, name, kind(cls, name=name, description=description))

    def add_enum(self, name: str, values: tuple[str, ...]) -> None:
        values_enum: type[enum.Enum] = enum.Enum(name, {v: v for v in values})  # type: ignore[misc]
        setattr(self.module, name, strawberry.enum(values_enum, name=name))

    def field(self, returns: str, args: dict[str, tuple[str, Any]], description: str | None = None) -> Any:
        """A field with arguments; its resolver only carries the signature (see the module doc)."""

        def resolve(**_: Any) -> Any:
            return _compiled_only()

        parameters = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, (annotation, default) in args.items()
        ]
        resolve.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
        resolve.__annotations__ = {**{n: a for n, (a, _) in args.items()}, "return": returns}
        resolve.__module__ = self.module.__name__
        return strawberry.field(resolver=resolve, description=description)


def _optional(annotation: str) -> str:
    return f"typing.Optional[{annotation}]"


def _output(field: ScalarField) -> str:
    annotation = field.enum_name if field.kind is ScalarKind.ENUM else _OUTPUT_ANNOTATIONS[field.kind]
    assert annotation is not None
    return annotation if field.required else _optional(annotation)


def _filter_input(field: ScalarField) -> str:
    return f"{field.enum_name}Filter" if field.kind is ScalarKind.ENUM else _FILTER_INPUTS[field.kind]


def _unset_inputs(ns: _Namespace, name: str, fields: dict[str, str], description: str) -> None:
    """An input type whose fields are all optional and default to unset."""
    ns.add(
        name,
        {_attribute(k): _optional(v) for k, v in fields.items()},
        kind=strawberry.input,
        defaults={_attribute(k): strawberry.field(name=k, default=strawberry.UNSET) for k in fields},
        description=description,
    )


def _attribute(graphql_name: str) -> str:
    """A Python attribute for a GraphQL name (``in`` is a Python keyword)."""
    return f"{graphql_name}_" if keyword.iskeyword(graphql_name) else graphql_name


def _scalar_filters(ns: _Namespace) -> None:
    ordered = {
        "String": "str",
        "Int": "int",
        "Long": "Long",
        "Float": "float",
        "DateTime": "datetime.datetime",
    }
    for name, annotation in ordered.items():
        operators = {op: annotation for op in COMPARISONS}
        operators.update({op: f"list[{annotation}]" for op in LIST_OPERATORS})
        if name == "String":
            operators.update({op: "str" for op in STRING_OPERATORS})
        operators["isNull"] = "bool"
        _unset_inputs(ns, f"{name}Filter", operators, f"Conditions on a {name} field; all must hold.")
    _unset_inputs(
        ns, "BooleanFilter", {"eq": "bool", "ne": "bool", "isNull": "bool"}, "Conditions on a Boolean."
    )
    _unset_inputs(
        ns, "StringListFilter", {"includes": "str", "isNull": "bool"}, "Conditions on a string list."
    )
    _unset_inputs(
        ns, "IDFilter", {"eq": "strawberry.ID", "ne": "strawberry.ID", "in": "list[strawberry.ID]",
                         "notIn": "list[strawberry.ID]"}, "Conditions on a global id.",
    )  # fmt: skip


def _enum_types(ns: _Namespace, fields: list[ScalarField]) -> None:
    for field in fields:
        if field.kind is ScalarKind.ENUM and field.enum_name and not hasattr(ns.module, field.enum_name):
            ns.add_enum(field.enum_name, field.choices)
            operators = {"eq": field.enum_name, "ne": field.enum_name, "isNull": "bool"}
            operators.update({op: f"list[{field.enum_name}]" for op in LIST_OPERATORS})
            _unset_inputs(ns, f"{field.enum_name}Filter", operators, f"Conditions on a {field.enum_name}.")


def connection_args(node_label: str, edge_where: str | None) -> dict[str, tuple[str, Any]]:
    """The arguments of every connection field: pagination, filter, order."""
    args: dict[str, tuple[str, Any]] = {
        "first": ("typing.Optional[int]", None),
        "after": ("typing.Optional[str]", None),
        "last": ("typing.Optional[int]", None),
        "before": ("typing.Optional[str]", None),
        "where": (f"typing.Optional[{node_label}Where]", None),
        "orderBy": (f"typing.Optional[list[{node_label}Order]]", None),
    }
    if edge_where:
        args["edgeWhere"] = (f"typing.Optional[{edge_where}]", None)
    return args


def _label_types(ns: _Namespace, view: LabelView) -> None:
    label = view.label
    annotations = {"id": "strawberry.ID", **{f.name: _output(f) for f in view.fields.values()}}
    defaults: dict[str, Any] = {}
    for rel in view.relationships.values():
        edge_where = f"{pascal(rel.rel_type)}Where" if rel.edge_fields else None
        defaults[rel.name] = ns.field(
            f"{rel.edge_type_name}Connection", connection_args(rel.other, edge_where),
            description=f"{rel.other} records linked by {rel.rel_type} ({_DIRECTIONS[rel.direction]}).",
        )  # fmt: skip
    ns.add(label, annotations, defaults=defaults, bases=(NodeInterface,), description=f"A {label} record.")
    ns.add(f"{label}Edge", {"cursor": "str", "node": label})
    ns.add(
        f"{label}Connection",
        {"edges": f"list[{label}Edge]", "nodes": f"list[{label}]", "pageInfo": "PageInfo",
         "totalCount": "int", "aggregate": f"{label}Aggregate"},
        description=f"A page of {label} records.",
    )  # fmt: skip
    _aggregate_types(ns, view)
    _where_type(ns, view)
    ns.add_enum(f"{label}SortField", tuple(f.name for f in view.sortable))
    ns.add(
        f"{label}Order",
        {"field": f"{label}SortField", "direction": "SortDirection"},
        kind=strawberry.input,
        defaults={"direction": SortDirection.ASC},
    )


def _aggregate_types(ns: _Namespace, view: LabelView) -> None:
    label = view.label
    annotations = {"count": "int"}
    defaults: dict[str, Any] = {}
    numeric = view.numeric
    if numeric:
        sums = {f.name: _optional("float" if f.kind is ScalarKind.FLOAT else "Long") for f in numeric}
        ns.add(f"{label}Sums", sums)
        ns.add(f"{label}Averages", {f.name: _optional("float") for f in numeric})
        annotations.update({"sum": f"{label}Sums", "avg": f"{label}Averages"})
    extremes = [f for f in view.fields.values() if f.kind in NUMERIC_KINDS | {ScalarKind.DATETIME}]
    ns.add(f"{label}Extremes", {f.name: _optional(_OUTPUT_ANNOTATIONS[f.kind]) for f in extremes})
    annotations.update({"min": f"{label}Extremes", "max": f"{label}Extremes"})
    if view.enums:
        ns.add_enum(f"{label}GroupField", tuple(f.name for f in view.enums))
        defaults["countBy"] = ns.field(
            "list[GroupCount]", {"field": (f"{label}GroupField", inspect.Parameter.empty)},
            description="How many records hold each value of an enum field.",
        )  # fmt: skip
    ns.add(
        f"{label}Aggregate", annotations, defaults=defaults, description=f"Aggregates over {label} records."
    )


def _where_type(ns: _Namespace, view: LabelView) -> None:
    label = view.label
    fields = {
        "AND": f"list[{label}Where]",
        "OR": f"list[{label}Where]",
        "NOT": f"{label}Where",
        "id": "IDFilter",
    }
    fields.update({f.name: _filter_input(f) for f in view.fields.values()})
    fields.update({rel.name: f"{rel.other}RelationFilter" for rel in view.relationships.values()})
    _unset_inputs(ns, f"{label}Where", fields, f"Conditions on {label} records; all given must hold.")
    _unset_inputs(
        ns, f"{label}RelationFilter", {q: f"{label}Where" for q in ("some", "none", "all", "single")},
        f"How many linked {label} records must match: some, none, all, or exactly one.",
    )  # fmt: skip


def _edge_types(ns: _Namespace, rel: RelationshipField) -> None:
    name = rel.edge_type_name
    if hasattr(ns.module, f"{name}Edge"):
        return
    annotations = {"cursor": "str", "node": rel.other, **{f.name: _output(f) for f in rel.edge_fields}}
    ns.add(
        f"{name}Edge",
        annotations,
        description=f"A {rel.rel_type} relationship and the {rel.other} it reaches.",
    )
    ns.add(
        f"{name}Connection",
        {"edges": f"list[{name}Edge]", "nodes": f"list[{rel.other}]", "pageInfo": "PageInfo",
         "totalCount": "int", "aggregate": f"{rel.other}Aggregate"},
    )  # fmt: skip
    where_name = f"{pascal(rel.rel_type)}Where"
    if rel.edge_fields and not hasattr(ns.module, where_name):
        fields = {"AND": f"list[{where_name}]", "OR": f"list[{where_name}]", "NOT": where_name}
        fields.update({f.name: _filter_input(f) for f in rel.edge_fields})
        _unset_inputs(ns, where_name, fields, f"Conditions on {rel.rel_type} relationship properties.")


def _query_type(ns: _Namespace, model: GraphQLModel) -> None:
    defaults: dict[str, Any] = {
        "node": ns.field(
            "typing.Optional[NodeInterface]", {"id": ("strawberry.ID", inspect.Parameter.empty)}
        ),
        "nodes": ns.field(
            "list[typing.Optional[NodeInterface]]", {"ids": ("list[strawberry.ID]", inspect.Parameter.empty)}
        ),
    }
    for label, view in model.labels.items():
        singular = label[:1].lower() + label[1:]
        defaults[singular] = ns.field(
            _optional(label), {"id": ("strawberry.ID", inspect.Parameter.empty)},
            description=f"One {label} by its global or record id.",
        )  # fmt: skip
        defaults[view.plural] = ns.field(
            f"{label}Connection",
            connection_args(label, None),
            description=f"{label} records, a page at a time.",
        )
    ns.add("Query", {}, defaults=defaults)


def build_schema(model: GraphQLModel, mutation: type | None = None) -> strawberry.Schema:
    """The GraphQL schema for ``model``; ``mutation`` is the root mutation type, if any."""
    ns = _Namespace()
    _scalar_filters(ns)
    views = list(model.labels.values())
    _enum_types(ns, [f for v in views for f in v.fields.values()])
    _enum_types(ns, [f for v in views for r in v.relationships.values() for f in r.edge_fields])
    for view in views:
        _label_types(ns, view)
    for view in views:
        for rel in view.relationships.values():
            _edge_types(ns, rel)
    _query_type(ns, model)
    return strawberry.Schema(
        query=ns.module.Query,
        mutation=mutation,
        types=[getattr(ns.module, label) for label in model.labels],
        config=StrawberryConfig(
            auto_camel_case=False, disable_field_suggestions=True, scalar_map={Long: _LONG}
        ),
    )
