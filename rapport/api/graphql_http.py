"""GraphQL over HTTP, as the GraphQL-over-HTTP specification describes it.

- ``POST`` with a JSON body; ``GET`` with query parameters, for queries only
  (a mutation over ``GET`` is 405).
- Answers ``application/graphql-response+json`` when the client accepts it:
  then a request that fails before execution (syntax, validation, variables,
  limits) is 400; with ``application/json`` it is 200, as the spec says.
- No token or a bad one is 401 before anything else is looked at.
- Unexpected errors are masked: the client gets a request id, the log gets
  the stack trace under the same id.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import strawberry
from graphql import (
    GraphQLError,
    OperationDefinitionNode,
    get_operation_ast,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from rapport.api.graphql_documents import DocumentCache, operation_variables
from rapport.auth.actor import Actor
from rapport.auth.errors import Unauthenticated
from rapport.config import Settings
from rapport.events.outbox import Recorded
from rapport.graph.types import GraphStore
from rapport.lru import LRU
from rapport.resolvers.errors import RequestError
from rapport.resolvers.executor import QueryExecutor
from rapport.resolvers.limits import Limits, check_limits
from rapport.resolvers.mutation_executor import MutationExecutor
from rapport.resolvers.selection import Fragments
from rapport.schema.fields import Field
from rapport.schema.graphql_model import GraphQLModel
from rapport.schema.graphql_types import build_schema
from rapport.schema.validation import Schema

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class _Refused(Exception):
    """The request cannot be executed; ``status`` applies to graphql-response+json clients."""

    def __init__(
        self, status: int, errors: list[dict[str, Any]], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(errors[0]["message"])
        self.status = status
        self.errors = errors
        self.headers = dict(headers or {})


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


def _graphql_errors(errors: tuple[GraphQLError, ...] | list[GraphQLError], code: str) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        entry: dict[str, Any] = dict(error.formatted)
        entry["extensions"] = {**(entry.get("extensions") or {}), "code": code}
        out.append(entry)
    return out


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any]
    operation_name: str | None


@dataclass
class GraphQLEndpoint:
    """The ``/graphql`` endpoint (HTTP; WebSocket subscriptions are served beside it)."""

    executor: QueryExecutor
    mutations: MutationExecutor
    documents: DocumentCache
    limits: Limits
    graphiql: bool
    within_limits: LRU[bool] = field(default_factory=lambda: LRU(2_000))  # requests already checked

    async def __call__(self, request: Request) -> Response:
        request_id = uuid.uuid4().hex
        if (
            request.method == "GET"
            and self.graphiql
            and _wants_html(request)
            and "query" not in request.query_params
        ):
            return HTMLResponse(get_graphql_ide_html(graphql_ide="graphiql"))
        media_type = _response_media_type(request.headers.get("accept"))
        if media_type is None:
            message = "Accept must allow application/graphql-response+json or application/json"
            return Response(
                orjson.dumps({"errors": [_error(message, "NOT_ACCEPTABLE")]}),
                406,
                media_type=JSON,
            )  # fmt: skip
        try:
            actor = await request.app.state.rapport.authenticator.authenticate(request.headers)
            payload = await self._payload(request)
            body = await self._run(request, payload, actor, request_id)
            return Response(orjson.dumps(body), 200, media_type=media_type)
        except Unauthenticated as error:
            return Response(
                orjson.dumps({"errors": [_error(error.reason, "UNAUTHENTICATED")]}),
                401,
                media_type=media_type,
                headers={"WWW-Authenticate": "Bearer" if error.missing else 'Bearer error="invalid_token"'},
            )
        except _Refused as refused:
            status = refused.status if media_type == GRAPHQL_RESPONSE or refused.status in (405, 415) else 200
            return Response(orjson.dumps({"errors": refused.errors}), status, media_type=media_type,
                            headers=refused.headers)  # fmt: skip
        except Exception:
            log.exception("request %s failed", request_id)
            message = f"Unexpected error; quote request id {request_id} to the operator"
            body = {"errors": [_error(message, "INTERNAL_SERVER_ERROR", requestId=request_id)]}
            return Response(orjson.dumps(body), 500, media_type=media_type)

    async def _payload(self, request: Request) -> GraphQLRequest:
        if request.method == "GET":
            params = request.query_params
            raw: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
            if params.get("variables"):
                raw["variables"] = _json(params["variables"], "variables")
        else:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in (JSON, GRAPHQL_RESPONSE):
                raise _Refused(
                    415, [_error("POST bodies must be application/json", "UNSUPPORTED_MEDIA_TYPE")]
                )
            raw = _json(await request.body(), "body")
            if not isinstance(raw, dict):
                raise _Refused(400, [_error("the body must be a JSON object", "BAD_REQUEST")])
        query, variables, operation = raw.get("query"), raw.get("variables") or {}, raw.get("operationName")
        if not isinstance(query, str) or not query.strip():
            raise _Refused(400, [_error("query: a GraphQL document string is required", "BAD_REQUEST")])
        if not isinstance(variables, dict):
            raise _Refused(400, [_error("variables: must be a JSON object", "BAD_REQUEST")])
        if operation is not None and not isinstance(operation, str):
            raise _Refused(400, [_error("operationName: must be a string", "BAD_REQUEST")])
        return GraphQLRequest(query, variables, operation)

    async def _run(
        self, request: Request, payload: GraphQLRequest, actor: Actor, request_id: str
    ) -> dict[str, Any]:
        checked = self.documents.get(payload.query)
        if checked.document is None:
            raise _Refused(400, _graphql_errors(checked.errors, "GRAPHQL_PARSE_FAILED"))
        operation = get_operation_ast(checked.document, payload.operation_name)
        kind = operation.operation.value if operation else None
        if request.method == "GET" and kind not in (None, "query"):
            raise _Refused(
                405, [_error(f"a {kind} must be sent with POST", "METHOD_NOT_ALLOWED")], {"Allow": "POST"}
            )
        if checked.errors:
            raise _Refused(400, _graphql_errors(checked.errors, "GRAPHQL_VALIDATION_FAILED"))
        if operation is None:
            message = (
                "operationName: no such operation" if payload.operation_name else "operationName is required"
            )
            raise _Refused(400, [_error(message, "BAD_REQUEST")])
        variables = self._variables(operation, payload.variables)
        fragments = Fragments.of(checked.document, variables)
        request_key = (
            payload.query,
            payload.operation_name,
            orjson.dumps(variables, option=orjson.OPT_SORT_KEYS),
        )
        if self.within_limits.get(request_key) is None:
            try:
                check_limits(operation, fragments, self.limits)
            except RequestError as error:
                raise _Refused(400, [_error(error.message, error.code)]) from None
            self.within_limits.put(request_key, True)
        if kind == "mutation":
            fields = fragments.collect([operation.selection_set], {"Mutation"})
            result = await self.mutations.execute(fields, fragments, actor)
        elif kind == "query":
            result = await self.executor.execute(
                checked.document, operation, fragments, actor, request_id, request_key
            )
        else:
            raise _Refused(400, [_error("subscriptions are served over WebSocket, not HTTP", "BAD_REQUEST")])
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.as_json() for e in result.errors]
        return body

    def _variables(self, operation: OperationDefinitionNode, given: dict[str, Any]) -> dict[str, Any]:
        values, errors = operation_variables(self.executor.schema, operation, given)
        if errors:
            raise _Refused(400, _graphql_errors(errors, "BAD_USER_INPUT"))
        return values


def _json(raw: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _Refused(400, [_error(f"{what}: not valid JSON", "BAD_REQUEST")]) from None


def _response_media_type(accept: str | None) -> str | None:
    if not accept:
        return JSON
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if GRAPHQL_RESPONSE in kinds:
        return GRAPHQL_RESPONSE
    if any(k in (JSON, "application/*", "*/*") for k in kinds):
        return JSON
    return None


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def graphql_schema(schema: Schema) -> strawberry.Schema:
    """The GraphQL schema for the model with its custom fields; built once (it takes seconds) and shared."""
    return _built(tuple(sorted(schema.custom.items())))


@functools.lru_cache(maxsize=8)
def _built(custom: tuple[tuple[str, tuple[Field, ...]], ...]) -> strawberry.Schema:
    return build_schema(GraphQLModel.from_schema(Schema(custom=dict(custom))))


def graphql_endpoint(
    settings: Settings, store: GraphStore, schema: Schema, on_commit: Callable[[Recorded], None]
) -> GraphQLEndpoint:
    """The endpoint for ``schema`` (the model with its custom fields) on ``store``; ``on_commit``
    is called after each mutation that wrote something."""
    model = GraphQLModel.from_schema(schema)
    core_schema = graphql_schema(schema)._schema
    limits = Limits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_cost=settings.graphql_max_cost,
        default_page=settings.graphql_default_page,
        max_page=settings.graphql_max_page,
    )
    executor = QueryExecutor(store, model, core_schema, limits, settings.graphql_timeout)
    mutations = MutationExecutor(store, model, schema, limits, settings.graphql_timeout, on_commit)
    documents = DocumentCache(
        core_schema, max_tokens=limits.max_tokens, introspection=settings.graphql_introspection
    )
    return GraphQLEndpoint(executor, mutations, documents, limits, settings.graphiql)
