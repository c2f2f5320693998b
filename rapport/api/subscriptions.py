"""GraphQL subscriptions over WebSocket (``graphql-transport-ws`` and legacy ``graphql-ws``).

Strawberry speaks the protocols (messages, keepalive pings, the init timeout);
Rapport authenticates the token sent in ``connection_init`` (a bad one closes
the socket with 4403), lets browsers connect only from the server's own and the
allowed origins (strawberry's check), and executes the operations itself, as it does queries:
strawberry's handlers call :class:`_Operations` where they would call the
schema. The ``connection_ack`` names the server process (``instance``), which
tells apart the workers of one server.

Results come in batches (what one burst of events delivers to an operation);
over ``graphql-transport-ws`` a batch goes out as its ``next`` messages in one
send, through the server's :data:`~rapport.api.websocket_protocol.SEND_TEXTS`
extension where it offers it. The legacy protocol sends them one by one.
Where the server also writes texts at once (the extension's :data:`SEND_TEXTS_NOW`),
an operation waiting, caught up, has the results of an event written from the
event hub's task as the event arrives, without its own task being woken (see
:meth:`SubscriptionExecutor.stream`): what ten thousand subscribers of one
event cost is then mostly the writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any, cast

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.base import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from rapport.api.graphql_documents import DocumentCache, operation_variables
from rapport.api.websocket_protocol import SEND_TEXTS, SEND_TEXTS_NOW
from rapport.auth.authenticator import Authenticator
from rapport.auth.errors import Unauthenticated
from rapport.events.hub import SubscriberTooSlow
from rapport.graph.errors import StoreError
from rapport.resolvers.errors import RequestError
from rapport.resolvers.limits import Limits, check_limits
from rapport.resolvers.selection import Fragments
from rapport.resolvers.subscriptions import SendNow, SubscriptionExecutor
from rapport.schema.graphql_subscription_types import MAX_SUBSCRIPTIONS_PER_CONNECTION

INSTANCE = uuid.uuid4().hex[:12]  # this server process, for the connection_ack
TOO_SLOW = 4429  # close code of a subscriber that fell a whole queue behind
TOO_SLOW_REASON = "too slow: fell too far behind; reconnect with since"


# One delivery of an operation: the data of a result, or a result carrying errors.
Delivery = dict[str, Any] | ExecutionResult


class _BatchingTransportWSHandler(BaseGraphQLTransportWSHandler[dict[str, Any], None]):
    """Strawberry's ``graphql-transport-ws`` handler, sending each batch of deliveries in one go."""

    async def _send_result_stream(
        self, operation: Operation[dict[str, Any], None], result_source: Any
    ) -> None:
        first = True
        prefix = b'{"id":' + orjson.dumps(operation.id) + b',"type":"next","payload":{"data":'
        websocket = cast(ASGIWebSocketAdapter, self.websocket).ws
        extension = _send_texts_extension(websocket)
        if extension is not None:
            send_texts_now = extension[SEND_TEXTS_NOW]

            def send_now(deliveries: list[dict[str, Any]]) -> bool:
                if operation.completed:
                    return False  # the operation's task is being cancelled: it drops them
                return bool(send_texts_now(_next_messages(prefix, operation.id, deliveries)))

            cast(OperationStream, result_source).send_now = send_now
        async for batch in cast(AsyncIterator[list[Delivery]], result_source):
            if first and isinstance(batch[0], PreExecutionError):
                await self._handle_pre_execution_error(operation, batch[0])
                return
            first = False
            if operation.completed:
                return
            try:
                await send_texts(websocket, _next_messages(prefix, operation.id, batch))
            except WebSocketDisconnect as error:
                raise WebSocketDisconnected from error


def _next_messages(prefix: bytes, operation_id: str, deliveries: Sequence[Delivery]) -> list[bytes]:
    """The ``next`` messages of ``deliveries``; ``prefix`` starts a message of data alone."""
    return [
        prefix + orjson.dumps(delivery) + b"}}"
        if isinstance(delivery, dict)
        else orjson.dumps({"id": operation_id, "type": "next", "payload": _payload(delivery)})
        for delivery in deliveries
    ]


def _payload(result: ExecutionResult) -> dict[str, Any]:
    """A ``next`` message's payload, as strawberry writes it."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


async def send_texts(websocket: WebSocket, texts: list[bytes]) -> None:
    """Send each of ``texts`` (UTF-8) as a text message: in one go where the server offers it."""
    if _send_texts_extension(websocket) is not None:
        await websocket.send({"type": "websocket.send", SEND_TEXTS: texts})
        return
    for text in texts:
        await websocket.send_text(text.decode())


def _send_texts_extension(websocket: WebSocket) -> dict[str, Any] | None:
    """The server's :data:`SEND_TEXTS` extension in the connection's scope, where it offers it."""
    extension: dict[str, Any] | None = websocket.scope.get("extensions", {}).get(SEND_TEXTS)
    return extension


class OperationStream:
    """An operation's deliveries in batches, and the way its transport may offer to take some at once
    (:attr:`send_now`, set before the stream is iterated): see :meth:`SubscriptionExecutor.stream`."""

    def __init__(self, batches: Callable[[SendNow | None], AsyncGenerator[list[Delivery], None]]) -> None:
        self._batches = batches
        self._started: AsyncGenerator[list[Delivery], None] | None = None
        self.send_now: SendNow | None = None

    def __aiter__(self) -> AsyncGenerator[list[Delivery], None]:
        self._started = self._batches(self.send_now)
        return self._started

    async def aclose(self) -> None:
        if self._started is not None:
            await self._started.aclose()


class SubscriptionServer(GraphQL[dict[str, Any], None]):
    """The WebSocket side of ``/graphql``."""

    max_subscriptions_per_connection = None  # counted by _Operations, with a message naming the cap
    graphql_transport_ws_handler_class = _BatchingTransportWSHandler

    def __init__(
        self,
        documents: DocumentCache,
        limits: Limits,
        executor: SubscriptionExecutor,
        authenticator: Authenticator,
        allowed_origins: Sequence[str] = (),
    ) -> None:
        # Strawberry's handlers only call stream()/subscribe() on what they take for the schema.
        # Browsers may open sockets from the server's own origin and from allowed_origins only.
        super().__init__(
            cast(BaseSchema, _Operations(documents, limits, executor)),
            allowed_origins=allowed_origins,
            graphql_ide=None,
            keep_alive=True,
            keep_alive_interval=15,
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.authenticator = authenticator

    def encode_json(self, data: object) -> str:
        return orjson.dumps(data).decode()  # results hold datetimes; orjson writes them as ISO-8601

    def decode_json(self, data: str | bytes) -> object:
        # orjson shares the keys of the messages it reads ("type", "payload", "query"...) among
        # them, where json makes each message's its own: ten thousand connections keep theirs.
        return orjson.loads(data)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> dict[str, Any]:
        return {"request": request, "actor": None, "subscriptions": 0}

    async def on_ws_connect(self, context: dict[str, Any]) -> dict[str, object]:
        params = context.pop("connection_params", None) or {}  # the token need not outlive this check
        credential = params.get("Authorization") or params.get("authorization")
        if credential is None and params.get("token"):
            credential = f"Bearer {params['token']}"
        try:
            actor = await self.authenticator.authenticate({"authorization": credential} if credential else {})
        except Unauthenticated as error:
            raise ConnectionRejectionError({"reason": error.reason}) from None
        context["actor"] = actor
        if actor.expires_at is not None:
            delay = max(0.0, actor.expires_at - time.time())
            asyncio.get_running_loop().call_later(
                delay, close_soon, context["request"], 4401, "token expired"
            )
        return {"instance": INSTANCE}


class _Operations:
    """Runs the operations of one server's WebSocket connections: checked like HTTP requests
    (document cache, variables, limits), then streamed by the :class:`SubscriptionExecutor`."""

    def __init__(self, documents: DocumentCache, limits: Limits, executor: SubscriptionExecutor) -> None:
        self.documents = documents
        self.limits = limits
        self.executor = executor

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: dict[str, Any] | None = None,
        root_value: object = None,
        operation_name: str | None = None,
        **_: object,
    ) -> OperationStream:
        """The operation's deliveries in batches (for :class:`_BatchingTransportWSHandler`)."""
        assert context_value is not None  # strawberry always passes the connection's context
        return OperationStream(
            partial(self._results, query or "", variable_values or {}, context_value, operation_name)
        )

    async def subscribe(self, *args: Any, **kwargs: Any) -> AsyncGenerator[ExecutionResult, None]:
        """The operation's results one by one (the legacy protocol's handler calls this, as it
        would the schema's ``subscribe``, with :meth:`stream`'s arguments)."""
        return _one_by_one(await self.stream(*args, **kwargs))

    async def _results(
        self,
        query: str,
        given: dict[str, Any],
        context: dict[str, Any],
        operation_name: str | None,
        send_now: SendNow | None,
    ) -> AsyncGenerator[list[Delivery], None]:
        checked = self.documents.get(query)
        if checked.document is None or checked.errors:
            yield [PreExecutionError(None, list(checked.errors))]
            return
        operation = get_operation_ast(checked.document, operation_name)
        if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
            message = (
                "queries and mutations are served over HTTP at /graphql"
                if operation
                else "operationName: no such operation"
            )
            yield [PreExecutionError(None, [GraphQLError(message, extensions={"code": "BAD_REQUEST"})])]
            return
        variables, errors = operation_variables(self.documents.schema, operation, given)
        if errors:
            yield [PreExecutionError(None, errors)]
            return
        fragments = Fragments.of(checked.document, variables)
        if context["subscriptions"] >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            message = f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection"
            yield [PreExecutionError(None, [GraphQLError(message, extensions={"code": "LIMIT_EXCEEDED"})])]
            return
        context["subscriptions"] += 1
        try:
            check_limits(operation, fragments, self.limits)
            ((_, selected),) = fragments.collect([operation.selection_set], {"Subscription"}).items()
            too_slow = partial(close_soon, context["request"], TOO_SLOW, TOO_SLOW_REASON)
            results = self.executor.stream(selected, fragments, context["actor"], too_slow, send_now)
            async for data in _checked(results):
                yield data
        finally:
            context["subscriptions"] -= 1


async def _checked(batches: AsyncIterator[list[dict[str, Any]]]) -> AsyncGenerator[list[Delivery], None]:
    """The batches; a failure ends the stream with its error (the first one before anything was
    sent as a pre-execution error, which ends the operation)."""
    first = True
    try:
        async for batch in batches:
            yield cast(list[Delivery], batch)
            first = False
    except SubscriberTooSlow:
        # The connection is closing (TOO_SLOW) and will cancel this operation; ending the stream
        # instead would make strawberry send "complete" on the closed socket.
        await asyncio.Future()
    except (RequestError, StoreError) as error:
        code = error.code if isinstance(error, RequestError) else "DATABASE_UNAVAILABLE"
        message = error.message if isinstance(error, RequestError) else "the database did not answer"
        errors = [GraphQLError(message, extensions={"code": code})]
        yield [PreExecutionError(None, errors) if first else ExecutionResult(None, errors)]


async def _one_by_one(batches: OperationStream) -> AsyncGenerator[ExecutionResult, None]:
    async with contextlib.aclosing(batches):
        async for batch in batches:
            for delivery in batch:
                yield delivery if isinstance(delivery, ExecutionResult) else ExecutionResult(delivery, None)


def close_soon(websocket: WebSocket, code: int, reason: str) -> None:
    """Close ``websocket`` from a callback (the client is told why)."""

    async def close() -> None:
        with contextlib.suppress(RuntimeError):  # already closed
            await websocket.close(code=code, reason=reason)

    _closing.add(task := asyncio.ensure_future(close()))
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Future[None]] = set()  # keeps close tasks alive until they finish
