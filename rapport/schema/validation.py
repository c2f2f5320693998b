"""Validation of node and relationship properties against the model.

A :class:`Schema` is the built-in model plus the custom fields declared at
runtime; it is immutable, and a new one is built when custom fields change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapport.schema.errors import SchemaViolation, Violation
from rapport.schema.fields import Field, FieldRuleError, FieldType
from rapport.schema.model import (
    LABELS,
    RELATIONSHIP_TYPES,
    SYSTEM_FIELDS,
    NodeLabel,
    RelationshipType,
)


@dataclass(frozen=True)
class Schema:
    """The model in force: built-in labels and relationship types, plus custom fields."""

    labels: Mapping[str, NodeLabel] = field(default_factory=lambda: LABELS)
    relationships: Mapping[str, RelationshipType] = field(default_factory=lambda: RELATIONSHIP_TYPES)
    custom: Mapping[str, tuple[Field, ...]] = field(default_factory=dict)

    def label(self, name: str) -> NodeLabel:
        """The label called ``name``, or :class:`SchemaViolation` naming the rule."""
        try:
            return self.labels[name]
        except KeyError:
            raise SchemaViolation.single(
                name, "label", "unknown_label", f"is not a label; known: {', '.join(self.labels)}"
            ) from None

    def relationship(self, name: str) -> RelationshipType:
        try:
            return self.relationships[name]
        except KeyError:
            raise SchemaViolation.single(
                name, "type", "unknown_relationship_type", "is not a relationship type of the model"
            ) from None

    def node_fields(self, label: str) -> dict[str, Field]:
        """Every field of ``label``: built-in then custom, by name."""
        fields = {f.name: f for f in self.label(label).fields}
        fields.update({f.name: f for f in self.custom.get(label, ())})
        return fields

    def with_custom(self, label: str, fields: tuple[Field, ...]) -> Schema:
        """A copy of this schema with ``label``'s custom fields replaced."""
        return Schema(self.labels, self.relationships, {**self.custom, label: fields})

    def validate_node(self, label: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Check a whole node's properties; return them normalised (``None`` dropped)."""
        return _validate(label, self.node_fields(label), properties)

    def validate_relationship(
        self, type_name: str, source_label: str, target_label: str, properties: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Check a relationship's endpoints and properties; return properties normalised."""
        rel = self.relationship(type_name)
        problems = []
        if source_label not in rel.sources:
            problems.append(
                Violation(
                    type_name,
                    "source",
                    "endpoint",
                    f"must start at {' or '.join(rel.sources)}, not {source_label}",
                )
            )
        if target_label not in rel.targets:
            problems.append(
                Violation(
                    type_name,
                    "target",
                    "endpoint",
                    f"must end at {' or '.join(rel.targets)}, not {target_label}",
                )
            )
        if problems:
            raise SchemaViolation(problems)
        return _validate(type_name, {f.name: f for f in rel.fields}, properties)


def _validate(owner: str, fields: Mapping[str, Field], properties: Mapping[str, Any]) -> dict[str, Any]:
    problems: list[Violation] = []
    clean: dict[str, Any] = {}
    for name, value in properties.items():
        if name in SYSTEM_FIELDS:
            problems.append(Violation(owner, name, "read_only", "is maintained by Rapport"))
        elif name not in fields:
            problems.append(Violation(owner, name, "unknown_field", f"is not a field of {owner}"))
        elif value is not None:
            try:
                clean[name] = fields[name].check(value)
            except FieldRuleError as error:
                problems.append(Violation(owner, name, error.rule, error.message))
    for f in fields.values():
        if f.required and clean.get(f.name) is None and not _reported(problems, f.name):
            problems.append(Violation(owner, f.name, "required", "is required"))
        currency = f.currency_field if f.type is FieldType.MONEY and f.name in clean else None
        if currency and clean.get(currency) is None and not _reported(problems, currency):
            problems.append(
                Violation(
                    owner,
                    currency,
                    "currency_required",
                    f"is required when {f.name} is set",
                )
            )
    since, until = clean.get("since"), clean.get("until")
    if since is not None and until is not None and until < since:
        problems.append(Violation(owner, "until", "until_after_since", "must not be before since"))
    if problems:
        raise SchemaViolation(problems)
    return clean


def _reported(problems: list[Violation], name: str) -> bool:
    return any(p.field == name for p in problems)
