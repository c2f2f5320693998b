"""Read every row of every file, map and validate it, and report every problem.

Nothing is written here: the plan either holds only valid rows, or lists each
bad one with its file, line, column and rule.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapport.importer.cells import parse_cell
from rapport.importer.mapping import Defaults, Entity, Link, MappingError
from rapport.schema.errors import SchemaViolation
from rapport.schema.fields import FieldRuleError
from rapport.schema.validation import Schema

CONSTANT = "(constant)"


@dataclass(frozen=True, slots=True)
class Issue:
    """One broken rule in one cell (or row) of one file."""

    file: str
    line: int
    column: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: column {self.column!r}: {self.message} (rule: {self.rule})"


@dataclass(slots=True)
class LinkRow:
    """A relationship a row asks for, by the target's key or name."""

    link: Link
    target: str
    properties: dict[str, Any]


@dataclass(slots=True)
class Row:
    """One CSV record, mapped: the node's key and properties, its links, its problems."""

    line: int
    raw: dict[str, str]
    key: str
    properties: dict[str, Any]
    links: list[LinkRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


@dataclass(slots=True)
class EntityPlan:
    entity: Entity
    rows: list[Row]
    written: list[str]  # the fields an upsert sets (null removes): mapped, constant, defaulted

    @property
    def valid(self) -> list[Row]:
        return [r for r in self.rows if not r.issues]


def read_records(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Records of a CSV file with the line each starts on.

    UTF-8 with or without a byte-order mark, CRLF or LF, quoted fields
    spanning lines: the csv module handles them when the file is opened with
    ``newline=""``.
    """
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    with path.open(encoding=codec, newline="") as handle:
        reader = csv.DictReader(handle)
        previous_end = 1  # the header ends on line 1
        for record in reader:
            yield previous_end + 1, {k: (v or "") for k, v in record.items() if k is not None}
            previous_end = reader.line_num


def _check_header(path: Path, header: list[str], entity: Entity) -> None:
    wanted = [entity.key, *entity.fields.values()]
    for link in entity.links:
        wanted += [link.column, *link.fields.values()]
    missing = [c for c in dict.fromkeys(wanted) if c not in header]
    if missing:
        raise MappingError(
            f"{path.name}: columns {', '.join(map(repr, missing))} named in the mapping are not in the header"
        )


def plan_entity(entity: Entity, defaults: Defaults, schema: Schema) -> EntityPlan:
    """Map and validate every record of ``entity``'s file."""
    if not entity.file.exists():
        raise MappingError(f"{entity.file}: file not found")
    fields = schema.node_fields(entity.label)
    column_of = entity.fields
    rows: list[Row] = []
    seen: dict[str, int] = {}
    name = entity.file.name
    first = True
    for line, raw in read_records(entity.file, defaults.encoding):
        if first:
            _check_header(entity.file, list(raw), entity)
            first = False
        key = raw[entity.key].strip()
        row = Row(line, raw, key, {})
        if not key:
            row.issues.append(Issue(name, line, entity.key, "required", "the key column is empty"))
        elif key in seen:
            row.issues.append(
                Issue(name, line, entity.key, "duplicate_key", f"key {key!r} already on line {seen[key]}")
            )
        else:
            seen[key] = line
        currency_column = column_of.get("currency")
        currency = (raw[currency_column].strip() if currency_column else "") or entity.constants.get(
            "currency", defaults.currency
        )
        for field_name, column in entity.fields.items():
            text = raw[column].strip()
            if not text:
                row.properties[field_name] = None
                continue
            text = entity.values.get(field_name, {}).get(text, text)
            try:
                row.properties[field_name] = parse_cell(
                    text, fields[field_name], defaults,
                    fmt=entity.formats.get(field_name), currency=str(currency).upper() if currency else None,
                )  # fmt: skip
            except FieldRuleError as error:
                row.issues.append(Issue(name, line, column, error.rule, error.message))
        if "currency" in fields and not currency_column and currency:
            row.properties.setdefault("currency", currency)
        row.properties.update(entity.constants)
        # Validate what parsed, so a row's every broken rule is reported at once;
        # fields that failed to parse already have their issue.
        failed = {field for field, column in column_of.items() if any(i.column == column for i in row.issues)}
        try:
            row.properties = schema.validate_node(
                entity.label, {k: v for k, v in row.properties.items() if k not in failed}
            )
        except SchemaViolation as violation:
            row.issues += [Issue(name, line, column_of.get(v.field, CONSTANT), v.rule, v.message)
                           for v in violation.violations if v.field not in failed]  # fmt: skip
        _plan_links(row, entity, defaults, schema)
        rows.append(row)
    written = [*entity.fields, *entity.constants]
    if "currency" in fields and "currency" not in written and defaults.currency:
        written.append("currency")
    return EntityPlan(entity, rows, written)


def _plan_links(row: Row, entity: Entity, defaults: Defaults, schema: Schema) -> None:
    name = entity.file.name
    for link in entity.links:
        target = row.raw[link.column].strip()
        if not target:
            if link.required:
                message = f"no {link.to} given for {link.type}"
                row.issues.append(Issue(name, row.line, link.column, "missing_reference", message))
            continue
        rel = schema.relationship(link.type)
        props: dict[str, Any] = {}
        for prop, column in link.fields.items():
            text = row.raw[column].strip()
            prop_field = rel.field(prop)
            if prop_field is None:
                raise MappingError(f"{entity.label} link {link.type}: {prop!r} is not a property of it")
            if text:
                text = link.values.get(prop, {}).get(text, text)
                try:
                    props[prop] = parse_cell(text, prop_field, defaults, fmt=None, currency=defaults.currency)
                except FieldRuleError as error:
                    row.issues.append(Issue(name, row.line, column, error.rule, error.message))
        source, dest = (entity.label, link.to) if link.direction == "out" else (link.to, entity.label)
        try:
            props = schema.validate_relationship(link.type, source, dest, props)
        except SchemaViolation as violation:
            row.issues += [Issue(name, row.line, link.fields.get(v.field, link.column), v.rule, v.message)
                           for v in violation.violations]  # fmt: skip
        row.links.append(LinkRow(link, target, props))
