"""Custom fields: typed properties an administrator adds to a label at runtime.

Declarations live in the graph as ``_CustomField`` nodes, so they survive
restarts and every process sees them after :meth:`CustomFields.load`. Each
declaration and drop records a change event (label ``_CustomField``, the id
``Label.name``) in its transaction: running servers reload their API when the
event stream brings one (:mod:`rapport.events.custom_field_watch`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from rapport.auth.actor import Actor, Role
from rapport.events.outbox import ChangeEvent, ChangeType, record_changes, with_outbox
from rapport.graph.types import GraphStore, Statement
from rapport.graph.values import now_millis
from rapport.schema.errors import SchemaViolation
from rapport.schema.fields import Field, FieldType
from rapport.schema.model import SYSTEM_FIELDS
from rapport.schema.validation import Schema

_NAME = re.compile(r"^[a-z][A-Za-z0-9_]{0,62}$")
# Money needs a currency sibling; custom fields stay self-contained.
CUSTOM_FIELD_TYPES = tuple(t for t in FieldType if t is not FieldType.MONEY)

CUSTOM_FIELD_LABEL = "_CustomField"
OPERATOR = Actor(subject="operator", role=Role.ADMIN)  # whoever runs Rapport's commands on the store
_COLUMNS = """
RETURN f.label AS label, f.name AS name, f.type AS type, f.required AS required,
       f.choices AS choices, f.minLength AS minLength, f.maxLength AS maxLength,
       f.minimum AS minimum, f.maximum AS maximum
"""
_LOAD = f"MATCH (f:_CustomField) {_COLUMNS} ORDER BY f.createdAt, f.name"
_DECLARED = f"MATCH (f:_CustomField {{key: $key}}) {_COLUMNS}"


def _field(row: dict[str, Any]) -> Field:
    return Field(
        row["name"],
        FieldType(row["type"]),
        bool(row["required"]),
        min_length=row["minLength"],
        max_length=row["maxLength"],
        minimum=row["minimum"],
        maximum=row["maximum"],
        choices=tuple(row["choices"] or ()),
    )


def _definition(label: str, field: Field) -> dict[str, Any]:
    """A declaration as it is stored, and as its change events say it."""
    return {
        "label": label, "name": field.name, "type": field.type.value, "required": field.required,
        "choices": list(field.choices), "minLength": field.min_length, "maxLength": field.max_length,
        "minimum": field.minimum, "maximum": field.maximum,
    }  # fmt: skip


def _violation(label: str, name: str, rule: str, message: str) -> SchemaViolation:
    return SchemaViolation.single(label, name, rule, message)


class CustomFields:
    """Declares, drops and loads custom fields; keeps the :class:`Schema` in force."""

    def __init__(self, store: GraphStore, schema: Schema | None = None) -> None:
        self._store = store
        self.schema = schema or Schema()

    async def load(self) -> Schema:
        """Read every declaration from the graph and rebuild :attr:`schema`."""
        by_label: dict[str, list[Field]] = defaultdict(list)
        for row in await self._store.read(_LOAD):
            if row["label"] in self.schema.labels:
                by_label[row["label"]].append(_field(row))
        self.schema = Schema(
            self.schema.labels,
            self.schema.relationships,
            {label: tuple(fields) for label, fields in by_label.items()},
        )
        return self.schema

    async def declare(
        self,
        label: str,
        name: str,
        type: FieldType | str,
        *,
        required: bool = False,
        choices: tuple[str, ...] = (),
        min_length: int | None = None,
        max_length: int | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        actor: Actor = OPERATOR,
    ) -> Field:
        """Add (or redefine) a typed field of ``label``; it is validated like built-in fields from
        now on. The change event names ``actor``.

        A required field may only be declared while every existing ``label``
        node already has a value for it.
        """
        self.schema.label(label)
        field = self._checked(label, name, type, choices, min_length, max_length, minimum, maximum)
        field = Field(field.name, field.type, required, min_length, max_length, minimum, maximum, choices)
        if required:
            rows = await self._store.read(
                f"MATCH (n:{label}) WHERE n[$name] IS NULL RETURN count(n) AS missing",
                {"name": name},
            )
            if rows[0]["missing"]:
                raise _violation(
                    label,
                    name,
                    "required_needs_values",
                    f"cannot be required: {rows[0]['missing']} existing {label} nodes lack it",
                )
        key = f"{label}.{name}"
        before = await self._declared(key)
        definition = _definition(label, field)
        declare = Statement(
            "MERGE (f:_CustomField {key: $key}) "
            "ON CREATE SET f.createdAt = $now "
            "SET f.label = $label, f.name = $name, f.type = $type, f.required = $required, "
            "f.choices = $choices, f.minLength = $minLength, f.maxLength = $maxLength, "
            "f.minimum = $minimum, f.maximum = $maximum, f.updatedAt = $now",
            {"key": key, "now": now_millis(), **definition},
        )
        changes = record_changes(_definition(label, before) if before is not None else None, definition)
        kind = ChangeType.CREATED if before is None else ChangeType.UPDATED
        events = [ChangeEvent(kind, CUSTOM_FIELD_LABEL, (key,), changes)] if changes else []
        await self._store.write_transaction(with_outbox([declare], events, actor))
        await self.load()
        return field

    async def drop(self, label: str, name: str, *, actor: Actor = OPERATOR) -> bool:
        """Forget a custom field's declaration (stored values stay, unvalidated); whether there was
        one. The change event names ``actor``."""
        key = f"{label}.{name}"
        if await self._declared(key) is None:
            return False
        drop = Statement("MATCH (f:_CustomField {key: $key}) DELETE f", {"key": key})
        dropped = ChangeEvent(ChangeType.DELETED, CUSTOM_FIELD_LABEL, (key,))
        await self._store.write_transaction(with_outbox([drop], [dropped], actor))
        await self.load()
        return True

    async def _declared(self, key: str) -> Field | None:
        """The declaration stored under ``key`` (``Label.name``), if any."""
        rows = await self._store.read(_DECLARED, {"key": key})
        return _field(rows[0]) if rows else None

    def _checked(
        self,
        label: str,
        name: str,
        type: FieldType | str,
        choices: tuple[str, ...],
        min_length: int | None,
        max_length: int | None,
        minimum: float | None,
        maximum: float | None,
    ) -> Field:
        if not _NAME.match(name):
            raise _violation(
                label,
                name,
                "field_name",
                "must start with a lower-case letter and hold only letters, digits, _",
            )
        if name in SYSTEM_FIELDS or self.schema.label(label).field(name) is not None:
            raise _violation(label, name, "field_exists", f"is a built-in field of {label}")
        try:
            field_type = FieldType(type)
        except ValueError:
            field_type = None
        if field_type not in CUSTOM_FIELD_TYPES:
            allowed = ", ".join(t.value for t in CUSTOM_FIELD_TYPES)
            raise _violation(label, name, "field_type", f"type must be one of {allowed}")
        assert field_type is not None
        if (field_type is FieldType.ENUM) != bool(choices):
            raise _violation(
                label, name, "enum_choices", "an enum needs choices, and only an enum takes them"
            )
        if not all(isinstance(c, str) and c for c in choices):
            raise _violation(label, name, "enum_choices", "choices must be non-empty strings")
        for low, high in ((min_length, max_length), (minimum, maximum)):
            if low is not None and high is not None and low > high:
                raise _violation(label, name, "bounds", "the lower bound exceeds the upper bound")
        return Field(name, field_type)
