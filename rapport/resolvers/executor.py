"""Executing a validated query operation: one Cypher query per root field, run concurrently.

Introspection root fields (``__schema``, ``__type``) are answered by
graphql-core from the schema; every other root field goes through the
compiler. A field that fails is ``null`` with an error at its path, as the
GraphQL spec says; the other fields still answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, SelectionSetNode, execute_sync

from rapport.auth.actor import Actor
from rapport.graph.errors import QueryTimeout
from rapport.graph.types import GraphStore
from rapport.lru import LRU
from rapport.resolvers.errors import RequestError
from rapport.resolvers.introductions import resolve_introductions
from rapport.resolvers.limits import Limits
from rapport.resolvers.projection import Compiler
from rapport.resolvers.root_fields import RootQuery, compile_root_field
from rapport.resolvers.selection import Fragments, Selected
from rapport.schema.graphql_model import GraphQLModel

log = logging.getLogger(__name__)

_INTROSPECTION = frozenset({"__schema", "__type"})


@dataclass
class FieldError:
    message: str
    path: list[str | int]
    code: str
    extensions: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "path": self.path,
            "extensions": {"code": self.code, **self.extensions},
        }


@dataclass
class QueryResult:
    data: dict[str, Any]
    errors: list[FieldError]


@dataclass(frozen=True)
class QueryExecutor:
    """Answers query operations against one store and one schema."""

    store: GraphStore
    model: GraphQLModel
    schema: GraphQLSchema
    limits: Limits
    timeout: float
    plans: LRU[tuple[RootQuery, dict[str, Any]]] = field(default_factory=lambda: LRU(2_000))

    async def execute(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        fragments: Fragments,
        actor: Actor,
        request_id: str,
        request_key: Hashable,
    ) -> QueryResult:
        """Answer ``operation``; ``request_key`` identifies the document, operation and variables,
        so that a repeated request reuses its compiled queries."""
        roots = fragments.collect([operation.selection_set], {"Query"})
        errors: list[FieldError] = []
        data: dict[str, Any] = {}
        introspection = {k: s for k, s in roots.items() if s.name in _INTROSPECTION}
        if introspection:
            data.update(self._introspect(document, operation, fragments, introspection, errors))
        tasks = {
            key: asyncio.ensure_future(
                self._root_field(
                    selected, fragments, actor, request_id, (request_key, key, actor.role, actor.user_id)
                )
            )
            for key, selected in roots.items()
            if selected.name not in _INTROSPECTION and selected.name != "__typename"
        }
        for key, selected in roots.items():
            if selected.name == "__typename":
                data[key] = "Query"
            elif key in tasks:
                try:
                    data[key] = await tasks[key]
                except RequestError as error:
                    data[key] = None
                    errors.append(FieldError(error.message, [key], error.code, _field_of(error)))
                except QueryTimeout:
                    data[key] = None
                    errors.append(FieldError("the query ran past its time limit", [key], "TIMEOUT"))
        # Keep the order of the document for the response.
        return QueryResult({key: data[key] for key in roots}, errors)

    async def _root_field(
        self, selected: Selected, fragments: Fragments, actor: Actor, request_id: str, plan_key: Hashable
    ) -> Any:
        if selected.name == "warmIntroductions":  # a path search, not one compiled query
            return await resolve_introductions(
                self.store, self.model, fragments, actor, self.limits, selected, self.timeout
            )
        plan = self.plans.get(plan_key)
        if plan is None:
            compiler = Compiler.for_actor(self.model, fragments, actor, self.limits, self.store.dialect)
            plan = (compile_root_field(compiler, selected), compiler.qb.params)
            self.plans.put(plan_key, plan)
        query, params = plan
        if query.cypher is None:
            return query.finish([])
        log.debug("request %s field %s: %s", request_id, selected.key, query.cypher)
        rows = await self.store.read(query.cypher, params, timeout=self.timeout)
        return query.finish(rows)

    def _introspect(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        fragments: Fragments,
        fields: Mapping[str, Selected],
        errors: list[FieldError],
    ) -> dict[str, Any]:
        nodes = tuple(node for selected in fields.values() for node in selected.nodes)
        only = operation.__class__(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=(),
            selection_set=SelectionSetNode(selections=nodes),
        )
        others = tuple(d for d in document.definitions if not isinstance(d, OperationDefinitionNode))
        result = execute_sync(
            self.schema, DocumentNode(definitions=(only, *others)), variable_values=dict(fragments.variables)
        )
        for error in result.errors or ():
            errors.append(FieldError(error.message, list(error.path or []), "INTROSPECTION_ERROR"))
        return dict(result.data or {})


def _field_of(error: RequestError) -> dict[str, Any]:
    return {"field": error.field} if error.field else {}
