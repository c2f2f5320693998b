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
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class SchemaSteps:
    """What one Neo4j DDL statement becomes on FalkorDB."""

    cypher: list[str]
    unique: tuple[str, list[str]] | None  # (label, properties) for GRAPH.CONSTRAINT
    if_not_exists: bool


def _properties(var: str, text: str) -> list[str]:
    props = []
    for part in text.split(","):
        m = re.fullmatch(rf"\s*{re.escape(var)}\.`?(\w+)`?\s*", part)
        if not m:
            raise QueryError(f"cannot read property {part.strip()!r} in schema statement")
        props.append(m.group(1))
    return props


def translate(statement: str) -> SchemaSteps:
    """Translate one Neo4j DDL statement; raise :class:`QueryError` for other forms."""
    text = statement.strip().rstrip(";").strip()
    if m := _CONSTRAINT.match(text):
        label, props = m["label"], _properties(m["var"], m["props"])
        index = f"CREATE INDEX FOR (n:{label}) ON ({', '.join('n.' + p for p in props)})"
        return SchemaSteps([index], (label, props), bool(m["ine"]))
    if m := _INDEX.match(text):
        var = m["var"] or m["rvar"]
        columns = ", ".join(f"{var}.{p}" for p in _properties(var, m["props"]))
        pattern = f"({var}:{m['label']})" if m["var"] else f"()-[{var}:{m['rtype']}]-()"
        return SchemaSteps([f"CREATE INDEX FOR {pattern} ON ({columns})"], None, bool(m["ine"]))
    if m := _FULLTEXT.match(text):
        columns = ", ".join(f"{m['var']}.{p}" for p in _properties(m["var"], m["props"]))
        return SchemaSteps(
            [f"CREATE FULLTEXT INDEX FOR ({m['var']}:{m['label']}) ON ({columns})"],
            None,
            bool(m["ine"]),
        )
    if m := _VECTOR.match(text):
        dims, similarity = _DIMENSIONS.search(m["options"]), _SIMILARITY.search(m["options"])
        if not dims:
            raise QueryError("vector index needs `vector.dimensions` in its OPTIONS")
        function = similarity.group(1).lower() if similarity else "cosine"
        (prop,) = _properties(m["var"], m["props"])
        return SchemaSteps(
            [
                f"CREATE VECTOR INDEX FOR ({m['var']}:{m['label']}) ON ({m['var']}.{prop}) "
                f"OPTIONS {{dimension: {int(dims.group(1))}, similarityFunction: '{function}'}}"
            ],
            None,
            bool(m["ine"]),
        )
    raise QueryError(f"unsupported schema statement for FalkorDB: {text[:120]!r}")
