"""The GraphQL schema, generated from the CRM model (custom fields included).

Strawberry defines the types: they give validation, introspection, GraphiQL
and the WebSocket subscriptions. Query and mutation fields over the graph are
not executed field by field: :mod:`rapport.resolvers` compiles each root
field's whole selection into one Cypher query and runs mutations as one
transaction, so their resolvers here only carry the argument signatures.

Types are created at runtime because custom fields are declared at runtime;
each schema gets its own namespace module so string annotations (and the
cycles between types, e.g. Account <-> Deal) resolve lazily by name.
"""

from __future__ import annotations

import datetime
import enum
import inspect
from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from rapport.schema.graphql_model import (
    INTRODUCTIONS_DEFAULT_HOPS,
    INTRODUCTIONS_DEFAULT_K,
    NUMERIC_KINDS,
    SIMILAR_DEFAULT_K,
    GraphQLModel,
    LabelView,
    RelationshipField,
    ScalarField,
    ScalarKind,
    pascal,
)
from rapport.schema.graphql_mutation_types import add_mutation_type
from rapport.schema.graphql_namespace import (
    LONG_SCALAR,
    OUTPUT_ANNOTATIONS,
    Long,
    Namespace,
    annotation_of,
    optional,
    unset_inputs,
)
from rapport.schema.graphql_subscription_types import add_subscription_type

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


@strawberry.type(description="One reason for a score, in words, with how much it weighed.")
class ScoreReason:
    text: str
    contribution: float = strawberry.field(
        description="Its push on the model's raw score in log-odds: positive raises the score."
    )


@strawberry.type(description="A score the scoring models wrote, with its confidence and reasons.")
class Score:
    value: float = strawberry.field(description="Probabilities in [0, 1]; health scores in 0-100.")
    confidence: float | None = strawberry.field(description="How sure the model is, in [0, 1].")
    reasons: list[ScoreReason] = strawberry.field(description="The largest contributions, largest first.")
    modelVersion: str | None = strawberry.field(description="The model that computed it (see rapport train).")
    computedAt: datetime.datetime | None


@strawberry.type(description="One link of a warm introduction: who introduces whom, and why it is warm.")
class IntroductionHop:
    source: NodeInterface
    target: NodeInterface
    strength: int = strawberry.field(description="Their relationship strength, 0-100 (rapport strength).")
    reasons: list[str] = strawberry.field(description="Why the relationship is as strong as it is.")


@strawberry.type(description="A chain of people from the source to the target, each knowing the next.")
class Introduction:
    warmth: float = strawberry.field(description="The product of the hops' strengths, out of 100.")
    hops: list[IntroductionHop]


@strawberry.enum(description="Sort direction; nulls always sort last.")
class SortDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


def _filter_input(field: ScalarField) -> str:
    return f"{field.enum_name}Filter" if field.kind is ScalarKind.ENUM else _FILTER_INPUTS[field.kind]


def _scalar_filters(ns: Namespace) -> None:
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
        unset_inputs(ns, f"{name}Filter", operators, f"Conditions on a {name} field; all must hold.")
    unset_inputs(
        ns, "BooleanFilter", {"eq": "bool", "ne": "bool", "isNull": "bool"}, "Conditions on a Boolean."
    )
    unset_inputs(
        ns, "StringListFilter", {"includes": "str", "isNull": "bool"}, "Conditions on a string list."
    )
    unset_inputs(
        ns, "IDFilter", {"eq": "strawberry.ID", "ne": "strawberry.ID", "in": "list[strawberry.ID]",
                         "notIn": "list[strawberry.ID]"}, "Conditions on a global id.",
    )  # fmt: skip


def _enum_types(ns: Namespace, fields: list[ScalarField]) -> None:
    for field in fields:
        if field.kind is ScalarKind.ENUM and field.enum_name and not hasattr(ns.module, field.enum_name):
            ns.add_enum(field.enum_name, field.choices)
            operators = {"eq": field.enum_name, "ne": field.enum_name, "isNull": "bool"}
            operators.update({op: f"list[{field.enum_name}]" for op in LIST_OPERATORS})
            unset_inputs(ns, f"{field.enum_name}Filter", operators, f"Conditions on a {field.enum_name}.")


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


def _label_types(ns: Namespace, view: LabelView) -> None:
    label = view.label
    annotations = {"id": "strawberry.ID", **{f.name: annotation_of(f) for f in view.fields.values()}}
    # Scores read as objects; filters, sorting and aggregates still see their values.
    annotations.update({name: optional("Score") for name in view.scores})
    defaults: dict[str, Any] = {}
    for rel in view.relationships.values():
        edge_where = f"{pascal(rel.rel_type)}Where" if rel.edge_fields else None
        defaults[rel.name] = ns.field(
            f"{rel.edge_type_name}Connection", connection_args(rel.other, edge_where),
            description=f"{rel.other} records linked by {rel.rel_type} ({_DIRECTIONS[rel.direction]}).",
        )  # fmt: skip
    if view.embedded:
        ns.add(
            f"Similar{label}",
            {"score": "float", "node": label},
            description=f"A lookalike {label}: cosine similarity of the GNN embeddings scaled to [0, 1].",
        )
        defaults["similar"] = ns.field(
            f"list[Similar{label}]", {"k": ("int", SIMILAR_DEFAULT_K)},
            description=f"The k {label} records most like this one, most similar first (none before "
            "`rapport embed` has run; those you may not read are left out).",
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


def _aggregate_types(ns: Namespace, view: LabelView) -> None:
    label = view.label
    annotations = {"count": "int"}
    defaults: dict[str, Any] = {}
    numeric = view.numeric
    if numeric:
        sums = {f.name: optional("float" if f.kind is ScalarKind.FLOAT else "Long") for f in numeric}
        ns.add(f"{label}Sums", sums)
        ns.add(f"{label}Averages", {f.name: optional("float") for f in numeric})
        annotations.update({"sum": f"{label}Sums", "avg": f"{label}Averages"})
    extremes = [f for f in view.fields.values() if f.kind in NUMERIC_KINDS | {ScalarKind.DATETIME}]
    ns.add(f"{label}Extremes", {f.name: optional(OUTPUT_ANNOTATIONS[f.kind]) for f in extremes})
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


def _where_type(ns: Namespace, view: LabelView) -> None:
    label = view.label
    fields = {
        "AND": f"list[{label}Where]",
        "OR": f"list[{label}Where]",
        "NOT": f"{label}Where",
        "id": "IDFilter",
    }
    fields.update({f.name: _filter_input(f) for f in view.fields.values()})
    fields.update({rel.name: f"{rel.other}RelationFilter" for rel in view.relationships.values()})
    unset_inputs(ns, f"{label}Where", fields, f"Conditions on {label} records; all given must hold.")
    unset_inputs(
        ns, f"{label}RelationFilter", {q: f"{label}Where" for q in ("some", "none", "all", "single")},
        f"How many linked {label} records must match: some, none, all, or exactly one.",
    )  # fmt: skip


def _edge_types(ns: Namespace, rel: RelationshipField) -> None:
    name = rel.edge_type_name
    if hasattr(ns.module, f"{name}Edge"):
        return
    annotations = {"cursor": "str", "node": rel.other, **{f.name: annotation_of(f) for f in rel.edge_fields}}
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
        unset_inputs(ns, where_name, fields, f"Conditions on {rel.rel_type} relationship properties.")


def _query_type(ns: Namespace, model: GraphQLModel) -> None:
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
            optional(label), {"id": ("strawberry.ID", inspect.Parameter.empty)},
            description=f"One {label} by its global or record id.",
        )  # fmt: skip
        defaults[view.plural] = ns.field(
            f"{label}Connection",
            connection_args(label, None),
            description=f"{label} records, a page at a time.",
        )
    influencer_args = connection_args("Customer", None)
    del influencer_args["orderBy"]
    defaults["influencers"] = ns.field(
        "CustomerConnection", influencer_args,
        description="Customers by influence (PageRank over who knows and who referred whom), most "
        "influential first; computed by `rapport influence`.",
    )  # fmt: skip
    defaults["warmIntroductions"] = ns.field(
        "list[Introduction]",
        {
            "target": ("strawberry.ID", inspect.Parameter.empty),
            "source": ("typing.Optional[strawberry.ID]", None),
            "k": ("int", INTRODUCTIONS_DEFAULT_K),
            "maxHops": ("int", INTRODUCTIONS_DEFAULT_HOPS),
        },
        description="The k warmest chains of people from source (a User or Customer; you by default) "
        "to the target Customer, over relationship strengths (computed by `rapport strength`).",
    )
    ns.add("Query", {}, defaults=defaults)


def build_schema(model: GraphQLModel) -> strawberry.Schema:
    """The GraphQL schema for ``model``: queries, mutations and subscriptions."""
    ns = Namespace()
    ns.share(
        PageInfo, GroupCount, SortDirection, NodeInterface, Score, ScoreReason, Introduction, IntroductionHop
    )
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
        mutation=add_mutation_type(ns, model),
        subscription=add_subscription_type(ns, model),
        types=[getattr(ns.module, label) for label in model.labels],
        config=StrawberryConfig(
            auto_camel_case=False, disable_field_suggestions=True, scalar_map={Long: LONG_SCALAR}
        ),
    )
