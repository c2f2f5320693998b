"""Keyset pagination: sort keys, cursors that carry the last row's keys, and the predicates they imply.

Rows sort by the requested fields, then by ``id`` so the order is total;
nulls sort last in either direction. A cursor holds the sort-key values of
its row, so the next page starts with a predicate an index can serve instead
of skipping rows: deep pages cost what the first page costs.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from rapport.resolvers.cypher import QueryBuilder
from rapport.resolvers.errors import UserInputError
from rapport.schema.graphql_model import LabelView


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False
    nulls_first: bool = False

    def reversed(self) -> SortKey:
        return SortKey(self.field, not self.descending, not self.nulls_first)


@dataclass(frozen=True)
class Page:
    """One connection's page request, checked: forward with ``first`` or backward with ``last``."""

    size: int
    backward: bool
    keys: tuple[SortKey, ...]  # in the order the client asked for
    after: tuple[Any, ...] | None
    before: tuple[Any, ...] | None

    @property
    def scan_keys(self) -> tuple[SortKey, ...]:
        """The order rows are read in: reversed when paging backward."""
        return tuple(k.reversed() for k in self.keys) if self.backward else self.keys

    def order_by(self, var: str) -> str:
        parts = []
        for key in self.scan_keys:
            prop = f"{var}.{key.field}"
            if key.field != "id":
                parts.append(f"{prop} IS NULL{' DESC' if key.nulls_first else ''}")
            parts.append(f"{prop}{' DESC' if key.descending else ''}")
        return ", ".join(parts)

    def cursor_values(self, var: str) -> str:
        """A list expression of the row's sort-key values: what its cursor encodes."""
        return "[" + ", ".join(f"{var}.{k.field}" for k in self.keys) + "]"

    def predicate(self, var: str, qb: QueryBuilder) -> str | None:
        """Rows strictly between the cursors given."""
        parts = []
        if self.after is not None:
            parts.append(_beyond(self.keys, self.after, var, qb))
        if self.before is not None:
            parts.append(_beyond(tuple(k.reversed() for k in self.keys), self.before, var, qb))
        return " AND ".join(f"({p})" for p in parts) if parts else None


def _beyond(keys: Sequence[SortKey], values: Sequence[Any], var: str, qb: QueryBuilder) -> str:
    """Rows that sort strictly after the row with sort-key ``values`` in the order ``keys``."""
    branches = []
    equal: list[str] = []
    for key, value in zip(keys, values, strict=True):
        prop = f"{var}.{key.field}"
        if value is None:
            after = f"{prop} IS NOT NULL" if key.nulls_first else None
            same = f"{prop} IS NULL"
        else:
            param = qb.param(value)
            after = f"{prop} {'<' if key.descending else '>'} {param}"
            if not key.nulls_first and key.field != "id":
                after = f"({after} OR {prop} IS NULL)"
            same = f"{prop} = {param}"
        if after is not None:
            branches.append(" AND ".join([*equal, after]))
        equal.append(same)
    return " OR ".join(f"({b})" for b in branches) if branches else "false"


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode("ascii")


def decode_cursor(cursor: str, keys: int, at: str) -> tuple[Any, ...]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeEncodeError):
        values = None
    if not isinstance(values, list) or len(values) != keys:
        raise UserInputError(f"{at}: not a cursor of this connection and order", at)
    return tuple(values)


def page_of(args: Mapping[str, Any], view: LabelView, default_size: int, max_size: int, at: str) -> Page:
    """Check ``first/after/last/before/orderBy`` of a connection field."""
    first, last = args.get("first"), args.get("last")
    if first is not None and last is not None:
        raise UserInputError(f"{at}: give first or last, not both", at)
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= max_size:
            raise UserInputError(
                f"{at}.{name}: must be between 0 and {max_size}, got {value}", f"{at}.{name}"
            )
    keys = []
    for order in args.get("orderBy") or []:
        name = order["field"]
        if name not in view.fields:
            raise UserInputError(f"{at}.orderBy: {name} is not a field of {view.label}", f"{at}.orderBy")
        keys.append(SortKey(name, descending=order.get("direction", "ASC") == "DESC"))
    keys.append(SortKey("id"))
    after = decode_cursor(args["after"], len(keys), f"{at}.after") if args.get("after") else None
    before = decode_cursor(args["before"], len(keys), f"{at}.before") if args.get("before") else None
    size = last if last is not None else first if first is not None else default_size
    return Page(size, last is not None, tuple(keys), after, before)
