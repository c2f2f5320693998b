"""Mapping files: which CSV column feeds which field, and how rows link.

A mapping is TOML. Paths are relative to the mapping file::

    [defaults]
    date_format = "%m/%d/%Y"      # strptime format for timestamp cells; "iso" (default) for ISO-8601
    thousands_separator = ","     # "1,250,000.00"
    decimal_separator = "."
    currency = "USD"              # for money cells of rows without a currency

    [[entity]]
    label = "Account"
    file = "Account.csv"
    key = "Id"                    # the source system's id: stored as externalId, the upsert key

    [entity.fields]               # field = column
    name = "Name"
    annualRevenue = "AnnualRevenue"

    [entity.values.industry]      # value mapping for one field
    "Technology" = "Software"

    [entity.constants]            # the same value on every row
    status = "active"

    [entity.formats]              # per-field timestamp format
    closedAt = "%Y-%m-%d"

    [[entity.link]]
    type = "SUBSIDIARY_OF"
    column = "ParentId"           # holds the target's key (or name, with match = "name")
    to = "Account"
    match = "externalId"          # or "name"
    direction = "out"             # "out": this row's node -> target; "in": target -> this row's node
    fields = { title = "Title" }  # relationship properties from columns
    required = false              # true: an empty cell is reported as a missing reference
    values.role = { "Economic Buyer" = "decision_maker" }   # value mapping of a property
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rapport.schema.validation import Schema


class MappingError(Exception):
    """The mapping file is wrong; the message names the entry and the rule."""


@dataclass(frozen=True, slots=True)
class Defaults:
    date_format: str = "iso"
    thousands_separator: str = ","
    decimal_separator: str = "."
    currency: str | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True, slots=True)
class Link:
    type: str
    column: str
    to: str
    match: Literal["externalId", "name"] = "externalId"
    direction: Literal["out", "in"] = "out"
    fields: dict[str, str] = field(default_factory=dict)
    required: bool = False  # an empty cell is then a missing reference
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # value mappings of properties


@dataclass(frozen=True, slots=True)
class Entity:
    label: str
    file: Path
    key: str
    fields: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Mapping:
    defaults: Defaults
    entities: tuple[Entity, ...]


def _require(table: dict[str, Any], name: str, where: str) -> Any:
    if name not in table:
        raise MappingError(f"{where}: missing required entry {name!r}")
    return table[name]


def load_mapping(path: Path, schema: Schema, data_dir: Path | None = None) -> Mapping:
    """Read and check a mapping file against the model; CSV paths resolve from ``data_dir``."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MappingError(f"{path}: {error}") from error
    base = data_dir or path.parent
    try:
        defaults = Defaults(**raw.get("defaults", {}))
    except TypeError as error:
        raise MappingError(f"{path.name}: [defaults]: {error}") from None
    entities = []
    for n, table in enumerate(raw.get("entity", []), start=1):
        where = f"{path.name}: entity #{n}"
        label = _require(table, "label", where)
        where = f"{path.name}: entity {label}"
        if label not in schema.labels:
            raise MappingError(f"{where}: unknown label (known: {', '.join(schema.labels)})")
        fields = schema.node_fields(label)
        mapped = {**table.get("fields", {}), **table.get("constants", {})}
        for name in mapped:
            if name not in fields:
                raise MappingError(f"{where}: {name!r} is not a field of {label}")
        for name in table.get("values", {}):
            if name not in table.get("fields", {}):
                raise MappingError(f"{where}: values given for {name!r}, which no column feeds")
        links = []
        for link in table.get("link", []):
            link_obj = Link(
                type=_require(link, "type", where),
                column=_require(link, "column", where),
                to=_require(link, "to", where),
                match=link.get("match", "externalId"),
                direction=link.get("direction", "out"),
                fields=link.get("fields", {}),
                required=bool(link.get("required", False)),
                values=link.get("values", {}),
            )
            rel = schema.relationship(link_obj.type)
            source, target = (label, link_obj.to) if link_obj.direction == "out" else (link_obj.to, label)
            if source not in rel.sources or target not in rel.targets:
                raise MappingError(f"{where}: {link_obj.type} cannot join {source} to {target}")
            if link_obj.match not in ("externalId", "name"):
                raise MappingError(f"{where}: link match must be 'externalId' or 'name'")
            links.append(link_obj)
        entities.append(
            Entity(
                label=label,
                file=base / _require(table, "file", where),
                key=_require(table, "key", where),
                fields=table.get("fields", {}),
                values=table.get("values", {}),
                constants=table.get("constants", {}),
                formats=table.get("formats", {}),
                links=tuple(links),
            )
        )
    if not entities:
        raise MappingError(f"{path.name}: no [[entity]] tables")
    return Mapping(defaults, tuple(entities))
