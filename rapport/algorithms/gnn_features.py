"""What the embedding GNN sees: which part of the graph, and generic features per node.

:func:`embedding_spec` projects customers, accounts, deals, tickets,
campaigns, products and staff (``User``) with every relationship type the CRM
model defines among them, except computed ones (``CONNECTED_TO``, a summary
that :mod:`~rapport.algorithms.strength` rewrites).

Features are signals any CRM has, so that a model is not tuned to one data
set (:data:`FEATURES`):

- per relationship type and direction, ``log(1 + degree)``;
- non-negative quantities (employees, amounts, prices, satisfaction) as
  ``log(1 + value)``, plus whether the value is present;
- categorical fields (enums, industry, country, lead source) one-hot over
  their most frequent values, learnt from the graph, plus "other".

Fields that *are* the outcomes the scoring models predict (a deal's stage and
probability, an account's status, a customer's lifecycle stage, the scores
themselves) are left out, so that embeddings used as model features do not
leak the labels. Every column is standardised (mean 0, unit variance) with
statistics fitted once (:meth:`FeatureEncoder.fit`) and kept with the model,
so a later graph is encoded the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rapport.algorithms.projection import Projection
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec, Window
from rapport.schema.fields import FieldType
from rapport.schema.model import RELATIONSHIP_TYPES

__all__ = ["FEATURES", "FeatureEncoder", "LabelFeatures", "embedding_spec"]

_MISSING = -1.0  # quantities are non-negative: this marks a node without the property
_MAX_VALUES = 20  # one-hot columns per categorical field, besides "other"
_MIN_COUNT = 2  # a value seen once is "other"
_COMPUTED = frozenset({"CONNECTED_TO"})


@dataclass(frozen=True, slots=True)
class LabelFeatures:
    """The properties of one label that become features."""

    quantities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


FEATURES: Mapping[str, LabelFeatures] = {
    "Customer": LabelFeatures(categories=("source", "country")),
    "Account": LabelFeatures(
        quantities=("employees", "annualRevenue"), categories=("industry", "tier", "region", "country")
    ),
    "Deal": LabelFeatures(quantities=("amount",)),
    "Ticket": LabelFeatures(quantities=("satisfaction",), categories=("priority", "channel")),
    "Campaign": LabelFeatures(quantities=("budget",), categories=("channel",)),
    "Product": LabelFeatures(quantities=("price",), categories=("family",)),
    "User": LabelFeatures(categories=("role",)),
}
"""The labels the GNN sees (in this order) and their feature properties."""


def embedding_spec(as_of: int | None = None) -> ProjectionSpec:
    """The projection the embedding model trains and runs on.

    With ``as_of`` (epoch ms), only nodes created before it take part, and
    relationships with a timestamp (a campaign touch's ``at``, a job's
    ``since``) only when it is before it; undated ones count as always there.
    Embeddings then describe the graph as it was, for models trained on the
    past. Field values are today's either way.
    """
    window = None if as_of is None else Window("createdAt", end=as_of)
    nodes = tuple(
        NodeSpec(
            label,
            window=window,
            properties=dict.fromkeys(features.quantities, _MISSING),
            categories=features.categories,
        )
        for label, features in FEATURES.items()
    )
    relationships: list[RelationshipSpec] = []
    for rel in RELATIONSHIP_TYPES.values():
        if rel.name in _COMPUTED:
            continue
        stamp = next(
            (f for f in rel.fields if f.type is FieldType.TIMESTAMP), None
        )  # at, or since of a period
        rel_window = (
            None
            if as_of is None or stamp is None
            else Window(stamp.name, end=as_of, missing_inside=not stamp.required)
        )
        relationships.extend(
            RelationshipSpec(rel.name, source, target, window=rel_window)
            for source in rel.sources
            for target in rel.targets
            if source in FEATURES and target in FEATURES
        )
    return ProjectionSpec(nodes, tuple(relationships))


def _vocabulary(values: np.ndarray) -> list[str]:
    """The most frequent non-empty values (ties by value), each seen at least twice."""
    found, counts = np.unique(values[values != ""], return_counts=True)
    ranked = sorted(zip(found.tolist(), counts.tolist(), strict=True), key=lambda vc: (-vc[1], vc[0]))
    return [value for value, count in ranked[:_MAX_VALUES] if count >= _MIN_COUNT]


def _raw_columns(
    projection: Projection, label: str, vocabularies: Mapping[str, list[str]]
) -> tuple[list[str], np.ndarray]:
    """The unscaled feature columns of ``label``'s nodes, and their names."""
    table = projection.nodes[label]
    n = len(table)
    names: list[str] = []
    columns: list[np.ndarray] = []
    for edge_type, rel in projection.relationships.items():
        source, type_, target = edge_type
        for side, ends, other in (("out", rel.source, target), ("in", rel.target, source)):
            if (source if side == "out" else target) == label:
                names.append(f"{side}:{type_}:{other}")
                columns.append(np.log1p(np.bincount(ends, minlength=n)))
    for name in FEATURES[label].quantities:
        values = table.properties[name]
        names += [f"log {name}", f"has {name}"]
        columns += [np.log1p(np.maximum(values, 0.0)), (values >= 0).astype(np.float64)]
    for name, known in vocabularies.items():
        values = table.categories[name]
        names += [f"{name}={value}" for value in known] + [f"{name}=other"]
        columns += [(values == value).astype(np.float64) for value in known]
        columns.append(((values != "") & ~np.isin(values, known)).astype(np.float64))
    names.append("1")
    columns.append(np.ones(n))
    return names, np.column_stack(columns)


@dataclass(frozen=True)
class FeatureEncoder:
    """Turns a projection of :func:`embedding_spec` into feature matrices, the same way each time.

    ``vocabularies`` are the one-hot values per label and field, ``columns``
    the feature names per label; ``mean`` and ``scale`` standardise them
    (a constant column is kept as it is).
    """

    vocabularies: dict[str, dict[str, list[str]]]
    columns: dict[str, list[str]]
    mean: dict[str, list[float]]
    scale: dict[str, list[float]]

    @classmethod
    def fit(cls, projection: Projection) -> FeatureEncoder:
        """Learn vocabularies and scaling from ``projection``."""
        vocabularies, columns, mean, scale = {}, {}, {}, {}
        for label in FEATURES:
            table = projection.nodes[label]
            vocabularies[label] = {
                name: _vocabulary(table.categories[name]) for name in FEATURES[label].categories
            }
            columns[label], raw = _raw_columns(projection, label, vocabularies[label])
            mu = raw.mean(axis=0) if len(raw) else np.zeros(raw.shape[1])
            sigma = raw.std(axis=0) if len(raw) else np.zeros(raw.shape[1])
            constant = sigma < 1e-9
            mean[label] = np.where(constant, 0.0, mu).tolist()
            scale[label] = np.where(constant, 1.0, sigma).tolist()
        return cls(vocabularies, columns, mean, scale)

    def encode(self, projection: Projection) -> dict[str, np.ndarray]:
        """Each label's float32 feature matrix (one row per node, in dense order)."""
        encoded = {}
        for label in FEATURES:
            names, raw = _raw_columns(projection, label, self.vocabularies[label])
            if names != self.columns[label]:
                raise ValueError(
                    f"the {label} features differ from those the model was trained on "
                    "(a different projection?)"
                )
            scaled = (raw - np.array(self.mean[label])) / np.array(self.scale[label])
            encoded[label] = scaled.astype(np.float32)
        return encoded

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for the model file."""
        return {
            "vocabularies": self.vocabularies,
            "columns": self.columns,
            "mean": self.mean,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureEncoder:
        return cls(data["vocabularies"], data["columns"], data["mean"], data["scale"])
