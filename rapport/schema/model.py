"""The CRM property-graph model: node labels, relationship types, their fields.

Every node also carries ``id`` (a UUIDv7 string, unique per label),
``createdAt``, ``updatedAt`` (epoch ms) and ``version`` (an integer bumped on
each change), all maintained by :mod:`rapport.graph.records`. Relationships
that change over time carry ``since``/``until``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapport.schema.fields import Field, FieldType

T = FieldType

SYSTEM_FIELDS = ("id", "createdAt", "updatedAt", "version")

DEAL_STAGES = (
    "prospecting",
    "qualification",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
)
TICKET_STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_CHANNELS = ("email", "phone", "chat", "web", "social")
CAMPAIGN_CHANNELS = (
    "email", "social", "paid_search", "display", "events", "webinar", "direct_mail", "content",
)  # fmt: skip
TOUCH_KINDS = ("sent", "opened", "clicked", "responded", "converted")
STAFF_ROLES = ("admin", "manager", "sales", "support", "marketing", "analyst", "viewer")
LIFECYCLE_STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")
INVOLVEMENT_ROLES = ("champion", "decision_maker", "influencer", "blocker")

# The scores the scoring models write (rapport.algorithms); ``scoreChanged`` subscriptions watch them.
SCORE_FIELDS: dict[str, tuple[str, ...]] = {
    "Customer": ("healthScore", "churnRisk", "conversionProbability"),
    "Account": ("healthScore", "churnRisk"),
    "Deal": ("winProbability",),
}
EMBEDDED_LABELS = ("Customer", "Account")
"""The labels whose nodes get GNN embeddings, with a vector index (``similar`` lookalikes)."""
SCORE_SIBLINGS = ("Confidence", "Reasons", "Model", "At")
"""Suffixes of the properties written beside each score ``f``: ``fConfidence`` (0-1), ``fReasons``
(a JSON list of ``{text, contribution}``), ``fModel`` (the model version), ``fAt`` (epoch ms)."""


def sibling_fields(score: str) -> tuple[str, ...]:
    """The properties written next to ``score``, in :data:`SCORE_SIBLINGS` order."""
    return tuple(f"{score}{suffix}" for suffix in SCORE_SIBLINGS)


@dataclass(frozen=True, slots=True)
class NodeLabel:
    """A node label and its built-in fields."""

    name: str
    fields: tuple[Field, ...]
    fulltext: tuple[str, ...] = ()  # fields in the label's full-text index

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True)
class RelationshipType:
    """A relationship type: which labels it joins, and its properties."""

    name: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    fields: tuple[Field, ...] = field(default=())

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _s(name: str, required: bool = False, max_length: int = 200) -> Field:
    return Field(name, T.STRING, required, max_length=max_length)


def _enum(name: str, choices: tuple[str, ...], required: bool = False) -> Field:
    return Field(name, T.ENUM, required, choices=choices)


def _ts(name: str, required: bool = False) -> Field:
    return Field(name, T.TIMESTAMP, required)


def _money(name: str, required: bool = False) -> Field:
    return Field(name, T.MONEY, required, minimum=0, currency_field="currency")


def _probability(name: str) -> Field:
    return Field(name, T.FLOAT, minimum=0, maximum=1)


_HEALTH = Field("healthScore", T.INTEGER, minimum=0, maximum=100)


_EXTERNAL_ID = _s("externalId", max_length=255)
_CURRENCY = Field("currency", T.CURRENCY)
_PERIOD = (_ts("since"), _ts("until"))

LABELS: dict[str, NodeLabel] = {
    label.name: label
    for label in (
        NodeLabel(
            "Customer",
            (
                _s("firstName", True, 100),
                _s("lastName", True, 100),
                Field("email", T.EMAIL),
                Field("phone", T.PHONE),
                _s("title"),
                _enum("lifecycleStage", LIFECYCLE_STAGES),
                _s("source", max_length=100),
                _s("city", max_length=100),
                Field("country", T.COUNTRY),
                _EXTERNAL_ID,
                _HEALTH,
                _probability("churnRisk"),
                _probability("conversionProbability"),
                Field("influence", T.FLOAT, minimum=0),
                _ts("influenceAt"),
            ),
            fulltext=("firstName", "lastName", "email"),
        ),
        NodeLabel(
            "Account",
            (
                _s("name", True),
                _s("domain", max_length=253),
                _s("industry", max_length=100),
                Field("employees", T.INTEGER, minimum=0),
                _money("annualRevenue"),
                _CURRENCY,
                _enum("tier", ("smb", "mid_market", "enterprise")),
                _enum("status", ("prospect", "active", "churned")),
                _s("region", max_length=100),
                Field("country", T.COUNTRY),
                _EXTERNAL_ID,
                _HEALTH,
                _probability("churnRisk"),
            ),
            fulltext=("name", "domain"),
        ),
        NodeLabel(
            "Deal",
            (
                _s("name", True),
                _enum("stage", DEAL_STAGES, True),
                _money("amount", True),
                Field("currency", T.CURRENCY, True),
                Field("probability", T.FLOAT, minimum=0, maximum=1),
                _ts("expectedCloseAt"),
                _ts("closedAt"),
                _s("lossReason", max_length=500),
                _EXTERNAL_ID,
                _probability("winProbability"),
            ),
            fulltext=("name",),
        ),
        NodeLabel(
            "Ticket",
            (
                _s("subject", True, 300),
                Field("description", T.TEXT),
                _enum("status", TICKET_STATUSES, True),
                _enum("priority", TICKET_PRIORITIES, True),
                _enum("channel", TICKET_CHANNELS, True),
                _ts("slaDueAt"),
                _ts("resolvedAt"),
                Field("satisfaction", T.INTEGER, minimum=1, maximum=5),
                _EXTERNAL_ID,
            ),
            fulltext=("subject", "description"),
        ),
        NodeLabel(
            "Campaign",
            (
                _s("name", True),
                _enum("channel", CAMPAIGN_CHANNELS, True),
                _enum("status", ("draft", "scheduled", "active", "completed", "cancelled")),
                _money("budget"),
                _CURRENCY,
                _ts("startsAt"),
                _ts("endsAt"),
                _EXTERNAL_ID,
            ),
            fulltext=("name",),
        ),
        NodeLabel(
            "Product",
            (
                _s("name", True),
                _s("sku", max_length=100),
                _s("family", max_length=100),
                _money("price"),
                _CURRENCY,
                Field("active", T.BOOLEAN),
                _EXTERNAL_ID,
            ),
            fulltext=("name", "sku"),
        ),
        NodeLabel(
            "User",
            (
                _s("name", True),
                Field("email", T.EMAIL, True),
                _enum("role", STAFF_ROLES, True),
                _s("title"),
                Field("active", T.BOOLEAN),
                _money("quota"),
                _CURRENCY,
                _ts("hiredAt"),
                _EXTERNAL_ID,
            ),
            fulltext=("name", "email"),
        ),
        NodeLabel(
            "Team",
            (
                _s("name", True),
                _enum("function", ("sales", "support", "marketing", "success", "management")),
            ),
            fulltext=("name",),
        ),
        NodeLabel(
            "Territory",
            (_s("name", True), _s("region", max_length=100), Field("description", T.TEXT)),
            fulltext=("name",),
        ),
        NodeLabel(
            "Activity",
            (
                _enum("kind", ("email", "call", "meeting", "note"), True),
                _s("subject", max_length=300),
                Field("body", T.TEXT),
                _ts("occurredAt", True),
                Field("durationMinutes", T.INTEGER, minimum=0),
                _enum("direction", ("inbound", "outbound")),
                _EXTERNAL_ID,
            ),
            fulltext=("subject",),
        ),
        NodeLabel(
            "Segment",
            (_s("name", True), Field("description", T.TEXT), Field("rule", T.TEXT)),
            fulltext=("name",),
        ),
        NodeLabel(
            "Article",
            (
                _s("title", True, 300),
                Field("body", T.TEXT),
                _enum("status", ("draft", "published", "archived")),
                Field("tags", T.STRING_LIST, max_length=50),
            ),
            fulltext=("title", "body"),
        ),
    )
}

RELATIONSHIP_TYPES: dict[str, RelationshipType] = {
    rel.name: rel
    for rel in (
        RelationshipType(
            "WORKS_AT",
            ("Customer",),
            ("Account",),
            (
                _s("title"),
                _enum("role", ("employee", "executive", "contractor", "advisor")),
                *_PERIOD,
            ),
        ),
        RelationshipType("SUBSIDIARY_OF", ("Account",), ("Account",), (_ts("since"),)),
        RelationshipType("OWNS", ("User",), ("Account", "Deal"), _PERIOD),
        RelationshipType("MEMBER_OF", ("User",), ("Team",), (_enum("role", ("member", "lead")), *_PERIOD)),
        RelationshipType("REPORTS_TO", ("User",), ("User",), _PERIOD),
        RelationshipType("FOR_ACCOUNT", ("Deal",), ("Account",)),
        RelationshipType(
            "INVOLVES", ("Deal",), ("Customer",), (_enum("role", INVOLVEMENT_ROLES, True), *_PERIOD)
        ),
        RelationshipType("FOR_PRODUCT", ("Deal",), ("Product",), (Field("quantity", T.INTEGER, minimum=1),)),
        RelationshipType("RAISED_BY", ("Ticket",), ("Customer",)),
        RelationshipType("ASSIGNED_TO", ("Ticket",), ("User", "Team"), _PERIOD),
        RelationshipType("ABOUT", ("Ticket",), ("Product",)),
        RelationshipType(
            "TOUCHED",
            ("Campaign",),
            ("Customer",),
            (
                _enum("channel", CAMPAIGN_CHANNELS, True),
                _enum("kind", TOUCH_KINDS, True),
                _ts("at", True),
            ),
        ),
        RelationshipType(
            "KNOWS",
            ("Customer",),
            ("Customer",),
            (Field("strength", T.FLOAT, minimum=0, maximum=1), _ts("since")),
        ),
        RelationshipType("REFERRED", ("Customer",), ("Customer",), (_ts("at"),)),
        RelationshipType("IN_TERRITORY", ("Account", "Customer"), ("Territory",), _PERIOD),
        RelationshipType("COVERS", ("User", "Team"), ("Territory",), _PERIOD),
        RelationshipType("PERFORMED", ("User",), ("Activity",)),
        RelationshipType("WITH", ("Activity",), ("Customer",)),
        RelationshipType("RELATES_TO", ("Activity",), ("Deal", "Account", "Ticket")),
        RelationshipType("RESOLVES", ("Article",), ("Ticket",)),
        RelationshipType("IN_SEGMENT", ("Customer", "Account"), ("Segment",), (_ts("since"),)),
        # Computed by rapport.algorithms.strength (recomputing replaces it); a customer pair has one each way.
        RelationshipType(
            "CONNECTED_TO",
            ("User", "Customer"),
            ("Customer",),
            (
                Field("strength", T.INTEGER, True, minimum=0, maximum=100),
                *(
                    Field(part, T.FLOAT, minimum=0, maximum=1)
                    for part in ("recency", "frequency", "channel", "reciprocity")
                ),
                Field("interactions", T.INTEGER, minimum=0),
                _ts("lastInteractionAt"),
                _ts("computedAt", True),
                Field("reasons", T.STRING_LIST, max_length=10),
            ),
        ),
    )
}


def fulltext_index(label: str) -> str:
    """The name of ``label``'s full-text index, as migration V003 creates it."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in label).lstrip("_") + "_search"
