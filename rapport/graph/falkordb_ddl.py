"""Neo4j index and constraint DDL, translated into FalkorDB's commands.

Migrations are written once, in Neo4j 5 DDL, the syntax analysts know. The
embedded backend translates the forms Rapport uses:

- ``CREATE CONSTRAINT [name] [IF NOT EXISTS] FOR (n:L) REQUIRE n.p IS UNIQUE``
  (also ``REQUIRE (n.a, n.b) IS UNIQUE``): an exact-match index plus a
  ``GRAPH.CONSTRAINT CREATE … UNIQUE`` command, since FalkorDB enforces
  uniqueness through an index;
- ``CREATE [RANGE] INDEX [name] [IF NOT EXISTS] FOR (n:L) ON (n.a, …)`` and the
  relationship form ``FOR ()-[r:T]-() ON (r.a)``;
- ``CREATE FULLTEXT INDEX [name] [IF NOT EXISTS] FOR (n:L) ON EACH [n.a, …]``;
- ``CREATE VECTOR INDEX [name] [IF NOT EXISTS] FOR (n:L) ON (n.p) OPTIONS
  {indexConfig: {`vector.dimensions`: D, `vector.similarity_function`: 'cosine'}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import Literal

from rapport.graph.errors import QueryError

_NAME = r"(?:\s+(?!IF\b|FOR\b)`?\w+`?)?"
_IF_NOT_EXISTS = r"(?P<ine>\s+IF\s+NOT\s+EXISTS)?"
_NODE = r"\(\s*(?P<var>\w+)\s*:\s*`?(?P<label>\w+)`?\s*\)"
_REL = r"\(\s*\)\s*-\s*\[\s*(?P<rvar>\w+)\s*:\s*`?(?P<rtype>\w+)`?\s*\]\s*-\s*>?\s*\(\s*\)"
_PROPS = r"(?P<props>[^)\]]*)"

_CONSTRAINT = re.compile(
    rf"^CREATE\s+CONSTRAINT{_NAME}{_IF_NOT_EXISTS}\s+FOR\s+{_NODE}\s+REQUIRE\s+"
    rf"\(?{_PROPS}\)?\s+IS\s+(?:NODE\s+)?UNIQUE$",
    re.IGNORECASE | re.DOTALL,
)
_INDEX = re.compile(
    rf"^CREATE\s+(?:RANGE\s+)?INDEX{_NAME}{_IF_NOT_EXISTS}\s+FOR\s+(?:{_NODE}|{_REL})"
    rf"\s+ON\s+\({_PROPS}\)$",
    re.IGNORECASE | re.DOTALL,
)
_FULLTEXT = re.compile(
    rf"^CREATE\s+FULLTEXT\s+INDEX{_NAME}{_IF_NOT_EXISTS}\s+FOR\s+{_NODE}\s+ON\s+EACH\s+\[{_PROPS}\]"
    r"(?:\s+OPTIONS\s+.*)?$",
    re.IGNORECASE | re.DOTALL,
)
_VECTOR = re.compile(
    rf"^CREATE\s+VECTOR\s+INDEX{_NAME}{_IF_NOT_EXISTS}\s+FOR\s+{_NODE}\s+ON\s+\({_PROPS}\)"
    r"\s+OPTIONS\s+(?P<options>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_DIMENSIONS = re.compile(r"vector\.dimensions`?\s*:\s*(\d+)", re.IGNORECASE)
_SIMILARITY = re.compile(r"vector\.similarity_function`?\s*:\s*'(\w+)'", re.IGNORECASE)


IndexKind = Literal["RANGE", "FULLTEXT", "VECTOR"]


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """One FalkorDB index creation: some attributes of a label (or relationship type), of one kind."""

    kind: IndexKind
    entity: str
    properties: tuple[str, ...]
    if_not_exists: bool
    relationship: bool = False
    options: str = ""  # a vector index's OPTIONS map, in FalkorDB's terms

    @property
    def cypher(self) -> str:
        var = "r" if self.relationship else "n"
        pattern = f"()-[r:{self.entity}]-()" if self.relationship else f"(n:{self.entity})"
        kind = "" if self.kind == "RANGE" else f"{self.kind} "
        options = f" OPTIONS {self.options}" if self.options else ""
        columns = ", ".join(f"{var}.{p}" for p in self.properties)
        return f"CREATE {kind}INDEX FOR {pattern} ON ({columns}){options}"

    def one_by_one(self) -> list[IndexSpec]:
        """The same creation split into one per attribute."""
        return [replace(self, properties=(p,)) for p in self.properties]


@dataclass(frozen=True, slots=True)
class SchemaSteps:
    """What one Neo4j DDL statement becomes on FalkorDB."""

    index: IndexSpec | None
    unique: tuple[str, list[str]] | None  # (label, properties) for GRAPH.CONSTRAINT
    if_not_exists: bool


Indexed = Mapping[tuple[IndexKind, str, bool], Set[str]]  # (kind, entity, relationship) -> attributes


def merged_indexes(steps: Sequence[SchemaSteps], indexed: Indexed) -> list[IndexSpec]:
    """The index creations that carry out ``steps``, given the attributes already ``indexed``.

    FalkorDB keeps one index per label and kind and rebuilds all of it for each
    creation, so the ``IF NOT EXISTS`` range and full-text indexes of one label
    are merged into one creation, without the attributes it indexes already.
    Other creations are kept as they are (and fail if they exist).
    """
    merged: dict[tuple[IndexKind, str, bool], list[str]] = {}
    kept: list[IndexSpec] = []
    for index in (step.index for step in steps if step.index is not None):
        if index.kind == "VECTOR" or not index.if_not_exists:
            kept.append(index)
            continue
        key = (index.kind, index.entity, index.relationship)
        attributes = merged.setdefault(key, [])
        done = indexed.get(key, set())
        attributes += [p for p in index.properties if p not in done and p not in attributes]
    return [
        IndexSpec(kind, entity, tuple(attributes), True, relationship)
        for (kind, entity, relationship), attributes in merged.items()
        if attributes
    ] + kept


def _properties(var: str, text: str) -> tuple[str, ...]:
    props = []
    for part in text.split(","):
        m = re.fullmatch(rf"\s*{re.escape(var)}\.`?(\w+)`?\s*", part)
        if not m:
            raise QueryError(f"cannot read property {part.strip()!r} in schema statement")
        props.append(m.group(1))
    return tuple(props)


def translate(statement: str) -> SchemaSteps:
    """Translate one Neo4j DDL statement; raise :class:`QueryError` for other forms."""
    text = statement.strip().rstrip(";").strip()
    if m := _CONSTRAINT.match(text):
        label, props, ine = m["label"], _properties(m["var"], m["props"]), bool(m["ine"])
        return SchemaSteps(IndexSpec("RANGE", label, props, ine), (label, list(props)), ine)
    if m := _INDEX.match(text):
        var, ine = m["var"] or m["rvar"], bool(m["ine"])
        index = IndexSpec("RANGE", m["label"] or m["rtype"], _properties(var, m["props"]), ine, not m["var"])
        return SchemaSteps(index, None, ine)
    if m := _FULLTEXT.match(text):
        ine = bool(m["ine"])
        return SchemaSteps(
            IndexSpec("FULLTEXT", m["label"], _properties(m["var"], m["props"]), ine), None, ine
        )
    if m := _VECTOR.match(text):
        dims, similarity = _DIMENSIONS.search(m["options"]), _SIMILARITY.search(m["options"])
        if not dims:
            raise QueryError("vector index needs `vector.dimensions` in its OPTIONS")
        function = similarity.group(1).lower() if similarity else "cosine"
        options = f"{{dimension: {int(dims.group(1))}, similarityFunction: '{function}'}}"
        ine = bool(m["ine"])
        index = IndexSpec("VECTOR", m["label"], _properties(m["var"], m["props"]), ine, options=options)
        return SchemaSteps(index, None, ine)
    raise QueryError(f"unsupported schema statement for FalkorDB: {text[:120]!r}")
