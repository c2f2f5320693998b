"""The GraphQL view of the CRM model: type names, relationship field names, filterable fields.

One description serves both the generated GraphQL types
(:mod:`rapport.schema.graphql_types`) and the compiler that turns a selection
set into Cypher (:mod:`rapport.resolvers`), so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rapport.schema.fields import Field, FieldType
from rapport.schema.model import EMBEDDED_LABELS, SCORE_FIELDS
from rapport.schema.validation import Schema

PLURALS = {
    "Customer": "customers", "Account": "accounts", "Deal": "deals", "Ticket": "tickets",
    "Campaign": "campaigns", "Product": "products", "User": "users", "Team": "teams",
    "Territory": "territories", "Activity": "activities", "Segment": "segments", "Article": "articles",
}  # fmt: skip

# (relationship type, direction seen from the owner, owner label, other label) -> field name on the owner.
# "out": the owner is the relationship's start node; "in": its end node.
RELATIONSHIP_FIELDS: dict[tuple[str, str, str, str], str] = {
    ("WORKS_AT", "out", "Customer", "Account"): "employers",
    ("WORKS_AT", "in", "Account", "Customer"): "contacts",
    ("SUBSIDIARY_OF", "out", "Account", "Account"): "parents",
    ("SUBSIDIARY_OF", "in", "Account", "Account"): "subsidiaries",
    ("OWNS", "out", "User", "Account"): "ownedAccounts",
    ("OWNS", "out", "User", "Deal"): "ownedDeals",
    ("OWNS", "in", "Account", "User"): "owners",
    ("OWNS", "in", "Deal", "User"): "owners",
    ("MEMBER_OF", "out", "User", "Team"): "teams",
    ("MEMBER_OF", "in", "Team", "User"): "members",
    ("REPORTS_TO", "out", "User", "User"): "managers",
    ("REPORTS_TO", "in", "User", "User"): "reports",
    ("FOR_ACCOUNT", "out", "Deal", "Account"): "accounts",
    ("FOR_ACCOUNT", "in", "Account", "Deal"): "deals",
    ("INVOLVES", "out", "Deal", "Customer"): "people",
    ("INVOLVES", "in", "Customer", "Deal"): "deals",
    ("FOR_PRODUCT", "out", "Deal", "Product"): "products",
    ("FOR_PRODUCT", "in", "Product", "Deal"): "deals",
    ("RAISED_BY", "out", "Ticket", "Customer"): "raisedBy",
    ("RAISED_BY", "in", "Customer", "Ticket"): "tickets",
    ("ASSIGNED_TO", "out", "Ticket", "User"): "assignees",
    ("ASSIGNED_TO", "out", "Ticket", "Team"): "assignedTeams",
    ("ASSIGNED_TO", "in", "User", "Ticket"): "assignedTickets",
    ("ASSIGNED_TO", "in", "Team", "Ticket"): "assignedTickets",
    ("ABOUT", "out", "Ticket", "Product"): "products",
    ("ABOUT", "in", "Product", "Ticket"): "tickets",
    ("TOUCHED", "out", "Campaign", "Customer"): "touched",
    ("TOUCHED", "in", "Customer", "Campaign"): "campaignTouches",
    ("KNOWS", "out", "Customer", "Customer"): "knows",
    ("KNOWS", "in", "Customer", "Customer"): "knownBy",
    ("REFERRED", "out", "Customer", "Customer"): "referred",
    ("REFERRED", "in", "Customer", "Customer"): "referredBy",
    ("IN_TERRITORY", "out", "Account", "Territory"): "territories",
    ("IN_TERRITORY", "out", "Customer", "Territory"): "territories",
    ("IN_TERRITORY", "in", "Territory", "Account"): "accounts",
    ("IN_TERRITORY", "in", "Territory", "Customer"): "customers",
    ("COVERS", "out", "User", "Territory"): "coveredTerritories",
    ("COVERS", "out", "Team", "Territory"): "coveredTerritories",
    ("COVERS", "in", "Territory", "User"): "coveringUsers",
    ("COVERS", "in", "Territory", "Team"): "coveringTeams",
    ("PERFORMED", "out", "User", "Activity"): "activities",
    ("PERFORMED", "in", "Activity", "User"): "performedBy",
    ("WITH", "out", "Activity", "Customer"): "customers",
    ("WITH", "in", "Customer", "Activity"): "activities",
    ("RELATES_TO", "out", "Activity", "Deal"): "deals",
    ("RELATES_TO", "out", "Activity", "Account"): "accounts",
    ("RELATES_TO", "out", "Activity", "Ticket"): "tickets",
    ("RELATES_TO", "in", "Deal", "Activity"): "activities",
    ("RELATES_TO", "in", "Account", "Activity"): "activities",
    ("RELATES_TO", "in", "Ticket", "Activity"): "activities",
    ("RESOLVES", "out", "Article", "Ticket"): "tickets",
    ("RESOLVES", "in", "Ticket", "Article"): "articles",
    ("IN_SEGMENT", "out", "Customer", "Segment"): "segments",
    ("IN_SEGMENT", "out", "Account", "Segment"): "segments",
    ("IN_SEGMENT", "in", "Segment", "Customer"): "customers",
    ("IN_SEGMENT", "in", "Segment", "Account"): "accounts",
    ("CONNECTED_TO", "out", "User", "Customer"): "connections",
    ("CONNECTED_TO", "out", "Customer", "Customer"): "connections",  # stored both ways: all of them
    ("CONNECTED_TO", "in", "Customer", "User"): "staffConnections",
}


class ScalarKind(StrEnum):
    """How a field appears in GraphQL; decides its filter operators and output conversion."""

    STRING = "String"
    INT = "Int"
    LONG = "Long"
    FLOAT = "Float"
    BOOLEAN = "Boolean"
    DATETIME = "DateTime"
    ENUM = "Enum"
    STRING_LIST = "StringList"


_KINDS = {
    FieldType.STRING: ScalarKind.STRING,
    FieldType.TEXT: ScalarKind.STRING,
    FieldType.EMAIL: ScalarKind.STRING,
    FieldType.PHONE: ScalarKind.STRING,
    FieldType.CURRENCY: ScalarKind.STRING,
    FieldType.COUNTRY: ScalarKind.STRING,
    FieldType.INTEGER: ScalarKind.INT,
    FieldType.MONEY: ScalarKind.LONG,
    FieldType.FLOAT: ScalarKind.FLOAT,
    FieldType.BOOLEAN: ScalarKind.BOOLEAN,
    FieldType.TIMESTAMP: ScalarKind.DATETIME,
    FieldType.ENUM: ScalarKind.ENUM,
    FieldType.STRING_LIST: ScalarKind.STRING_LIST,
}
SIMILAR_DEFAULT_K = 10
"""How many lookalikes ``similar`` returns when ``k`` is not given."""
INTRODUCTIONS_DEFAULT_K = 3
INTRODUCTIONS_DEFAULT_HOPS = 3
"""``warmIntroductions`` without ``k`` or ``maxHops``: the three warmest chains of up to three hops."""
NUMERIC_KINDS = frozenset({ScalarKind.INT, ScalarKind.LONG, ScalarKind.FLOAT})
ORDERED_KINDS = NUMERIC_KINDS | {ScalarKind.DATETIME, ScalarKind.STRING, ScalarKind.ENUM}


@dataclass(frozen=True, slots=True)
class ScalarField:
    """A property exposed as a GraphQL field."""

    name: str
    kind: ScalarKind
    required: bool
    enum_name: str | None = None  # the GraphQL enum type, for ENUM fields
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RelationshipField:
    """A relationship exposed on ``owner`` as a connection to ``other`` nodes."""

    name: str
    rel_type: str
    direction: str  # "out" or "in", seen from the owner
    owner: str
    other: str
    edge_fields: tuple[ScalarField, ...]

    @property
    def edge_type_name(self) -> str:
        """Edges of one relationship type to one label share a GraphQL type."""
        return f"{pascal(self.rel_type)}{self.other}"

    def pattern(self, start: str, rel: str, end: str) -> str:
        """The Cypher pattern from the owner bound to ``start`` to the other node ``end``."""
        if self.direction == "out":
            return f"({start})-[{rel}:{self.rel_type}]->({end}:{self.other})"
        return f"({start})<-[{rel}:{self.rel_type}]-({end}:{self.other})"


@dataclass(frozen=True, slots=True)
class LabelView:
    """One label as GraphQL sees it."""

    label: str
    plural: str
    fields: dict[str, ScalarField]  # system timestamps and model and custom fields, by name
    relationships: dict[str, RelationshipField]
    scores: tuple[str, ...] = ()  # the fields the scoring models write
    embedded: bool = False  # has GNN embeddings: lookalikes through ``similar``

    @property
    def sortable(self) -> list[ScalarField]:
        return [f for f in self.fields.values() if f.kind in ORDERED_KINDS | {ScalarKind.BOOLEAN}]

    @property
    def numeric(self) -> list[ScalarField]:
        return [f for f in self.fields.values() if f.kind in NUMERIC_KINDS]

    @property
    def enums(self) -> list[ScalarField]:
        return [f for f in self.fields.values() if f.kind is ScalarKind.ENUM]


def pascal(name: str) -> str:
    """``WORKS_AT`` -> ``WorksAt``; ``lifecycleStage`` -> ``LifecycleStage``."""
    if "_" in name or name.isupper():
        return "".join(part.capitalize() for part in name.lower().split("_"))
    return name[:1].upper() + name[1:]


def scalar_field(owner: str, field: Field) -> ScalarField:
    kind = _KINDS[field.type]
    enum_name = f"{pascal(owner)}{pascal(field.name)}" if kind is ScalarKind.ENUM else None
    return ScalarField(field.name, kind, field.required, enum_name, field.choices)


_SYSTEM = (
    ScalarField("createdAt", ScalarKind.DATETIME, True),
    ScalarField("updatedAt", ScalarKind.DATETIME, True),
    ScalarField("version", ScalarKind.INT, True),
)


@dataclass(frozen=True)
class GraphQLModel:
    """Every label's view, derived from one :class:`Schema` (custom fields included)."""

    labels: dict[str, LabelView]

    @classmethod
    def from_schema(cls, schema: Schema) -> GraphQLModel:
        relationships: dict[str, dict[str, RelationshipField]] = {label: {} for label in schema.labels}
        for (rel_type, direction, owner, other), name in RELATIONSHIP_FIELDS.items():
            rel = schema.relationship(rel_type)
            edge_fields = tuple(scalar_field(rel_type, f) for f in rel.fields)
            relationships[owner][name] = RelationshipField(
                name, rel_type, direction, owner, other, edge_fields
            )
        views = {}
        for label in schema.labels:
            fields = {f.name: f for f in _SYSTEM}
            fields.update({f.name: scalar_field(label, f) for f in schema.node_fields(label).values()})
            views[label] = LabelView(
                label, PLURALS[label], fields, relationships[label], SCORE_FIELDS.get(label, ()),
                embedded=label in EMBEDDED_LABELS,
            )  # fmt: skip
        return cls(views)

    def view(self, label: str) -> LabelView:
        return self.labels[label]
