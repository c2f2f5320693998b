"""What to project: node labels, relationship types, weights and time windows.

A :class:`ProjectionSpec` names a part of the graph the way a GDS native
projection does, plus time windows on epoch-millisecond properties. It is
validated against the CRM model when it is built, so a typo fails at once
and not as an empty projection.

Examples
--------
The customers, their KNOWS links weighted by strength, and the referrals of 2026:

>>> from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec, Window
>>> spec = ProjectionSpec(
...     nodes=(NodeSpec("Customer"),),
...     relationships=(
...         RelationshipSpec("KNOWS", "Customer", "Customer", weight="strength"),
...         RelationshipSpec("REFERRED", "Customer", "Customer",
...                          window=Window("at", start=1767225600000, end=1798761600000)),
...     ),
... )
>>> spec.edge_types
(('Customer', 'KNOWS', 'Customer'), ('Customer', 'REFERRED', 'Customer'))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rapport.graph.dialect import checked_identifier
from rapport.graph.errors import QueryError
from rapport.schema.model import LABELS, RELATIONSHIP_TYPES

__all__ = ["EdgeType", "NodeSpec", "ProjectionSpec", "RelationshipSpec", "Window"]

EdgeType = tuple[str, str, str]
"""``(source label, relationship type, target label)``, as PyTorch Geometric names edge types."""


def _property(name: str, what: str) -> str:
    try:
        return checked_identifier(name)
    except QueryError as error:
        raise ValueError(f"{what}: {error}") from None


@dataclass(frozen=True, slots=True)
class Window:
    """The half-open time window ``start <= property < end`` on an epoch-ms property.

    Either bound may be ``None`` (open). Records whose property is missing fall
    outside the window, or inside it with ``missing_inside`` (a relationship
    without ``since`` has always been there).
    """

    property: str
    start: int | None = None
    end: int | None = None
    missing_inside: bool = False

    def __post_init__(self) -> None:
        _property(self.property, "window property")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"window on {self.property!r} is empty: start {self.start} >= end {self.end}")


@dataclass(frozen=True)
class NodeSpec:
    """The nodes of one label, optionally only those inside a time window.

    ``properties`` maps numeric node properties to load (as float64 arrays, for
    model features) to the value a node without that property gets.
    ``categories`` names properties to load as strings (for categorical
    features such as enums); a node without one gets ``""``.
    """

    label: str
    window: Window | None = None
    properties: Mapping[str, float] = field(default_factory=dict)
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r}; known: {', '.join(sorted(LABELS))}")
        for name in (*self.properties, *self.categories):
            _property(name, f"{self.label} property")


@dataclass(frozen=True, slots=True)
class RelationshipSpec:
    """The relationships of one type from ``source``-labelled to ``target``-labelled nodes.

    With ``weight``, that numeric property is each relationship's weight and
    ``default_weight`` stands in where it is missing; without it every
    relationship weighs ``default_weight``. With ``window``, only
    relationships whose (relationship) property lies in it are projected.
    """

    type: str
    source: str
    target: str
    weight: str | None = None
    default_weight: float = 1.0
    window: Window | None = None

    def __post_init__(self) -> None:
        model = RELATIONSHIP_TYPES.get(self.type)
        if model is None:
            raise ValueError(
                f"unknown relationship type {self.type!r}; known: {', '.join(sorted(RELATIONSHIP_TYPES))}"
            )
        if self.source not in model.sources or self.target not in model.targets:
            raise ValueError(
                f"{self.type} joins {'|'.join(model.sources)} to {'|'.join(model.targets)}, "
                f"not {self.source} to {self.target}"
            )
        if self.weight is not None:
            _property(self.weight, f"{self.type} weight")

    @property
    def edge_type(self) -> EdgeType:
        return (self.source, self.type, self.target)


@dataclass(frozen=True)
class ProjectionSpec:
    """Node labels and the relationships among them to project.

    Every relationship's source and target label must be one of ``nodes``; a
    relationship whose end node is outside its label's window is left out.
    Node labels keep their order: it is the order of the global node index
    (see :class:`~rapport.algorithms.projection.Projection`).
    """

    nodes: tuple[NodeSpec, ...]
    relationships: tuple[RelationshipSpec, ...] = ()

    def __post_init__(self) -> None:
        labels = [node.label for node in self.nodes]
        if not labels:
            raise ValueError("a projection needs at least one node label")
        if len(set(labels)) != len(labels):
            raise ValueError(f"node labels must be distinct: {labels}")
        for rel in self.relationships:
            missing = {rel.source, rel.target} - set(labels)
            if missing:
                raise ValueError(f"{rel.type} needs the node labels {sorted(missing)} in the projection")
        edge_types = [rel.edge_type for rel in self.relationships]
        if len(set(edge_types)) != len(edge_types):
            raise ValueError(f"each (source, type, target) may appear once: {edge_types}")

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(node.label for node in self.nodes)

    @property
    def edge_types(self) -> tuple[EdgeType, ...]:
        return tuple(rel.edge_type for rel in self.relationships)

    def node(self, label: str) -> NodeSpec:
        """The spec of ``label``'s nodes."""
        for node in self.nodes:
            if node.label == label:
                return node
        raise KeyError(label)
