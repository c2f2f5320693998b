"""Parsed and validated GraphQL documents, cached by their text.

Parsing and validation depend only on the text and the schema, so a client
sending the same query again (the common case) skips both.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    ValidationRule,
    parse,
    specified_rules,
    validate,
)

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
        self._schema = schema
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
        errors = validate(self._schema, document, self._rules, hide_suggestions=True)
        return CheckedDocument(document, tuple(errors))
