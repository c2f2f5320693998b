"""Building one Cypher query: parameters and fresh variable names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class QueryBuilder:
    """Collects the parameters of a query being compiled and hands out unique variable names.

    Values only ever reach the query as parameters; the text holds schema
    names (labels, types, properties) that the GraphQL schema has vetted.
    """

    params: dict[str, Any] = field(default_factory=dict)
    _names: int = 0

    def param(self, value: Any) -> str:
        """A ``$name`` placeholder bound to ``value``."""
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def var(self, prefix: str) -> str:
        """A variable name not used elsewhere in this query."""
        self._names += 1
        return f"{prefix}{self._names}"
