"""Parsed and validated GraphQL documents, cached by their text.

Parsing and validation depend only on the text and the schema, so a client
sending the same query again (the common case) skips both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    ValidationRule,
    parse,
    specified_rules,
    validate,
    value_from_ast_untyped,
)
from graphql.execution.values import get_variable_values

from rapport.lru import LRU


class _NoIntrospection(ValidationRule):
    """Refuses ``__schema`` and ``__type`` where introspection is switched off (production)."""

    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError("introspection is disabled on this server", node))


@dataclass(frozen=True)
class CheckedDocument:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]


class DocumentCache:
    """A bounded LRU of checked documents for one schema."""

    def __init__(
        self, schema: GraphQLSchema, *, max_tokens: int, introspection: bool, size: int = 1_000
    ) -> None:
        self.schema = schema
        self._max_tokens = max_tokens
        self._rules = specified_rules if introspection else (*specified_rules, _NoIntrospection)
        self._entries: LRU[CheckedDocument] = LRU(size)

    def get(self, text: str) -> CheckedDocument:
        entry = self._entries.get(text)
        if entry is None:
            entry = self._check(text)
            self._entries.put(text, entry)
        return entry

    def _check(self, text: str) -> CheckedDocument:
        try:
            document = parse(text, max_tokens=self._max_tokens)
        except GraphQLError as error:
            return CheckedDocument(None, (error,))
        errors = validate(self.schema, document, self._rules, hide_suggestions=True)
        return CheckedDocument(document, tuple(errors))


def operation_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, given: dict[str, Any]
) -> tuple[dict[str, Any], list[GraphQLError]]:
    """The variables checked against their declared types: the client's own JSON values with the
    declared defaults filled in, or the errors of the check."""
    coerced = get_variable_values(schema, operation.variable_definitions or (), given)
    if isinstance(coerced, list):
        return {}, coerced
    values = dict(given)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    return values, []
