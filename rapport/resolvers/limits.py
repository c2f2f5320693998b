"""Limits that keep one request from costing the database too much.

Depth and aliases are properties of the document; cost also depends on the
variables (``first: $n``), so it is computed per request: each connection
(and each ``similar(k)`` list) costs the number of records it may return,
multiplied by the page sizes of the lists it is nested in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    value_from_ast_untyped,
)

from rapport.resolvers.errors import LimitExceeded
from rapport.resolvers.selection import Fragments
from rapport.schema.graphql_model import INTRODUCTIONS_DEFAULT_K, SIMILAR_DEFAULT_K

_CONNECTION_ARGS = ("first", "last")
_LIST_DEFAULTS = {"similar": SIMILAR_DEFAULT_K, "warmIntroductions": INTRODUCTIONS_DEFAULT_K}
"""Lists of records sized by ``k`` (not connections), and their size when ``k`` is not given."""


@dataclass(frozen=True)
class Limits:
    """The ``graphql_*`` settings (their defaults live in :mod:`rapport.config`)."""

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_cost: int
    default_page: int
    max_page: int


def check_limits(operation: OperationDefinitionNode, fragments: Fragments, limits: Limits) -> None:
    """Raise :class:`LimitExceeded` naming the limit when ``operation`` breaks one."""
    walker = _Walker(fragments, limits)
    walker.walk(operation.selection_set, depth=1, multiplier=1)
    if walker.depth > limits.max_depth:
        raise LimitExceeded(f"query depth {walker.depth} exceeds the limit of {limits.max_depth}")
    if walker.aliases > limits.max_aliases:
        raise LimitExceeded(f"{walker.aliases} aliases exceed the limit of {limits.max_aliases}")
    if walker.cost > limits.max_cost:
        raise LimitExceeded(
            f"query cost {walker.cost} exceeds the limit of {limits.max_cost} "
            "(each connection costs its page size times the page sizes it is nested in)"
        )


class _Walker:
    def __init__(self, fragments: Fragments, limits: Limits) -> None:
        self.fragments = fragments
        self.limits = limits
        self.depth = 0
        self.aliases = 0
        self.cost = 0

    def walk(self, selection_set: SelectionSetNode | None, depth: int, multiplier: int) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, depth, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                self.walk(self.fragments.definitions[selection.name.value].selection_set, depth, multiplier)
            elif isinstance(selection, InlineFragmentNode):
                self.walk(selection.selection_set, depth, multiplier)

    def _field(self, node: FieldNode, depth: int, multiplier: int) -> None:
        self.depth = max(self.depth, depth)
        if node.alias is not None:
            self.aliases += 1
        if _lists_records(node):
            args = _arguments(node, self.fragments.variables)
            page = next((int(args[n]) for n in _CONNECTION_ARGS if args.get(n) is not None), None)
            multiplier *= max(1, self.limits.default_page if page is None else page)
            self.cost += multiplier
        elif node.name.value in _LIST_DEFAULTS:
            k = _arguments(node, self.fragments.variables).get("k")
            multiplier *= max(1, _LIST_DEFAULTS[node.name.value] if k is None else int(k))
            self.cost += multiplier
        self.walk(node.selection_set, depth + 1, multiplier)


def _lists_records(node: FieldNode) -> bool:
    """A connection whose records are selected (``edges`` or ``nodes``), not only counted."""
    selections = node.selection_set.selections if node.selection_set else ()
    return any(isinstance(s, FieldNode) and s.name.value in ("edges", "nodes") for s in selections)


def _arguments(node: FieldNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    return {a.name.value: value_from_ast_untyped(a.value, dict(variables)) for a in node.arguments or ()}
