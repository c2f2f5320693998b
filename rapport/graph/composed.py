"""Atomic multi-statement transactions as one query, on both backends.

A write transaction of several statements is composed into one query: each
statement becomes a ``CALL { … }`` subquery with its parameters renamed
apart, and its rows are collected into one column, so later statements run
even when an earlier one returns no rows. FalkorDB needs this because it has
no multi-query transactions (each query is atomic, a failing one leaves
nothing behind). Neo4j gains from it too: one round trip instead of one per
statement, and the locks a transaction takes (the outbox sequence's above
all) are held for one query's run and its commit, not across round trips.

A statement with ``required_match`` is followed by a
:mod:`~rapport.graph.runtime_check` that fails the whole query (the backend
then rolls it back) when the statement returned no rows.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from rapport.graph.cypher_text import final_return, rename_parameters, split_alias
from rapport.graph.errors import NothingMatched, QueryError
from rapport.graph.runtime_check import check, is_failed_check
from rapport.graph.types import Params, Record, Statement

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Write(Protocol):
    """A store's ``write``: one statement in its own transaction."""

    def __call__(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> Awaitable[list[Record]]: ...


@dataclass(frozen=True, slots=True)
class ComposedQuery:
    """One query standing for several statements, and how to split its result."""

    cypher: str
    params: dict[str, Any]
    columns: list[list[str]]  # per statement, its column names in order

    def split(self, row: Record) -> list[list[Record]]:
        """Turn the composed query's single row back into per-statement rows."""
        return [
            [dict(zip(names, values, strict=True)) for values in row[f"__r{i}"]] if names else []
            for i, names in enumerate(self.columns)
        ]


async def write_composed(
    write: Write, statements: Sequence[Statement], timeout: float | None
) -> list[list[Record]]:
    """Run ``statements`` atomically through ``write`` (one query in one transaction); each
    statement's rows, or :class:`NothingMatched` when a ``required_match`` statement matched
    nothing (and nothing was written)."""
    if not statements:
        return []
    if len(statements) == 1 and statements[0].required_match is None:
        return [await write(statements[0].cypher, statements[0].params, timeout=timeout)]
    composed = compose(statements)
    try:
        (row,) = await write(composed.cypher, composed.params, timeout=timeout)
    except QueryError as error:
        if not is_failed_check(error):
            raise
        # The check cannot say which statement failed; name every candidate.
        raise NothingMatched(" or ".join(s.required_match for s in statements if s.required_match)) from error
    return composed.split(row)


def compose(statements: Sequence[Statement]) -> ComposedQuery:
    """Compose ``statements`` into one query that runs them in order.

    Each statement's final ``RETURN`` becomes a ``WITH`` (keeping DISTINCT,
    ORDER BY, SKIP and LIMIT) followed by ``RETURN collect(...)``, an
    aggregate without grouping keys: every subquery yields exactly one row,
    even when the statement matched nothing, so the next one always runs.
    """
    clauses: list[str] = []
    params: dict[str, Any] = {}
    columns: list[list[str]] = []
    carried: list[str] = []
    for i, statement in enumerate(statements):
        prefix = f"s{i}_"
        params.update({prefix + k: v for k, v in statement.params.items()})
        body, names, row_count = _collected(statement.cypher, i)
        if carried:
            # Importing the earlier results keeps FalkorDB from answering a plain
            # "MATCH (n:L) RETURN count(n)" from label statistics taken before
            # this query's own writes.
            body = f"WITH {', '.join(carried)} {body}"
        clauses.append(f"CALL {{ {body} }}")
        carried.append(f"__r{i}")
        if statement.required_match is not None:
            clauses.append(f"WITH {', '.join(carried)}, {check(f'{row_count} > 0')} AS __g{i}")
        columns.append(list(names))
    cypher = " ".join(clauses) + " RETURN " + ", ".join(carried)
    return ComposedQuery(cypher=cypher, params=params, columns=columns)


@lru_cache(maxsize=4096)
def _collected(cypher: str, i: int) -> tuple[str, tuple[str, ...], str]:
    """Statement ``i``'s text as a subquery body returning its rows collected into ``__r{i}``
    (parameters prefixed ``s{i}_``), its column names, and the expression counting its rows.

    Cached: a server composes the same few statement texts over and over, and reading
    Cypher text is most of the cost of composing."""
    body = rename_parameters(cypher.strip().rstrip(";"), f"s{i}_")
    returned = final_return(body)
    if returned is None:
        return f"{body} RETURN count(*) AS __r{i}", (), f"__r{i}"
    pairs = [split_alias(item) for item in returned.items]
    names = tuple(name for _, name in pairs)
    aliases = [
        name if _IDENTIFIER.match(name) and not name.startswith("__") else f"__s{i}_c{k}"
        for k, (_, name) in enumerate(pairs)
    ]
    projection = ", ".join(f"{expr} AS {a}" for (expr, _), a in zip(pairs, aliases, strict=True))
    distinct = "DISTINCT " if returned.distinct else ""
    body = (
        f"{returned.before} WITH {distinct}{projection} {returned.tail} "
        f"RETURN collect([{', '.join(aliases)}]) AS __r{i}"
    )
    return body, names, f"size(__r{i})"
