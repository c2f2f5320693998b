"""The Starlette application: one store, one schema, the HTTP endpoints.

Nothing connects at import or construction: the store is opened (or taken
from the caller) in the lifespan, and everything that depends on it is
built there, into one :class:`AppState` on ``app.state.rapport``. When
custom fields are declared or dropped (the event stream says so), a new
state is built for the new schema and replaces it: requests and WebSocket
connections under way finish with the state they started with.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from rapport.algorithms.jobs import influence_job, segments_job
from rapport.algorithms.schedule import recurring
from rapport.algorithms.strength import compute_strength
from rapport.api.cypher_endpoint import cypher_query
from rapport.api.graphql_http import GraphQLEndpoint, graphql_endpoint
from rapport.api.subscriptions import SubscriptionServer
from rapport.auth.authenticator import Authenticator
from rapport.auth.http import EXCEPTION_HANDLERS, password_login
from rapport.background import running
from rapport.config import Settings, load_settings
from rapport.events.custom_field_watch import follow_custom_fields
from rapport.events.service import EventServices, running_events
from rapport.graph.connect import open_store
from rapport.graph.types import GraphStore
from rapport.resolvers.subscriptions import SubscriptionExecutor
from rapport.schema.custom_fields import CustomFields
from rapport.schema.graphql_model import GraphQLModel
from rapport.schema.validation import Schema


@dataclass(slots=True)
class AppState:
    """What every request handler may use; built at start, and again when custom fields change."""

    settings: Settings
    store: GraphStore
    schema: Schema
    authenticator: Authenticator
    graphql: GraphQLEndpoint
    subscriptions: SubscriptionServer | None  # None without an event stream


def app_state(
    settings: Settings, store: GraphStore, schema: Schema, authenticator: Authenticator, events: EventServices
) -> AppState:
    """The state for ``schema`` (the model with its custom fields): its GraphQL endpoint and
    subscription server. Building a new GraphQL schema takes seconds."""
    endpoint = graphql_endpoint(settings, store, schema, events.committed)
    subscriptions = None
    if events.hub is not None:
        model = GraphQLModel.from_schema(schema)
        executor = SubscriptionExecutor(events.hub, store, model, endpoint.limits, settings.graphql_timeout)
        subscriptions = SubscriptionServer(
            endpoint.documents, endpoint.limits, executor, authenticator, settings.allowed_origins
        )
    return AppState(
        settings=settings,
        store=store,
        schema=schema,
        graphql=endpoint,
        authenticator=authenticator,
        subscriptions=subscriptions,
    )


def state_of(request: Request) -> AppState:
    """The application's state, as the lifespan built it."""
    state: AppState = request.app.state.rapport
    return state


async def health(request: Request) -> JSONResponse:
    """200 when the store answers a query, 503 otherwise."""
    state = state_of(request)
    try:
        await state.store.read("RETURN 1 AS ok", timeout=5)
    except Exception as error:  # any failure to answer means unhealthy
        return JSONResponse(
            {"status": "unavailable", "backend": state.store.backend, "error": str(error)}, 503
        )
    return JSONResponse({"status": "ok", "backend": state.store.backend})


_GRAPHQL_METHODS = ("GET", "HEAD", "POST")


class GraphQLFirst:
    """Middleware handing ``/graphql`` straight to the GraphQL endpoint, and WebSockets there
    to the subscription server.

    Routed like the other endpoints, every request, and every WebSocket connection for as long
    as it is open, would pass Starlette's routing and exception-handling layers (and their
    wrappers of every message sent) on the way to handlers that deal with their own errors:
    about 7% of the API's throughput. Only Starlette's outermost middleware (a 500 for an
    unexpected error; it leaves WebSockets alone) comes before it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            response = await self._http(scope, receive)
            await response(scope, receive, send)
        elif scope["type"] == "websocket" and scope["path"] == "/graphql":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    @staticmethod
    async def _http(scope: Scope, receive: Receive) -> Response:
        if scope["method"] not in _GRAPHQL_METHODS:
            return PlainTextResponse(
                "Method Not Allowed", 405, headers={"Allow": ", ".join(_GRAPHQL_METHODS)}
            )
        request = Request(scope, receive)
        return await state_of(request).graphql(request)

    @staticmethod
    async def _websocket(scope: Scope, receive: Receive, send: Send) -> None:
        server = scope["app"].state.rapport.subscriptions
        if server is None:
            await _refuse_without_event_stream(WebSocket(scope, receive, send))
            return
        await server(scope, receive, send)


async def _refuse_without_event_stream(websocket: WebSocket) -> None:
    """Refuse the handshake saying why: with an HTTP 503 and the reason where the server can answer
    a handshake with a response of its own; else a close before accepting, which a client sees as
    a bare 403."""
    reason = "subscriptions need an event stream: set RAPPORT_REDIS_URL"
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(PlainTextResponse(reason, 503))
    else:
        await websocket.close(1013, reason)


def create_app(
    settings: Settings, store: GraphStore | None = None, *, server_process: bool = False
) -> Starlette:
    """The Rapport application. With ``store`` given, it is used and left open at shutdown.
    ``server_process``: the app owns its process (``rapport serve``), which tunes the garbage
    collector for it (see :func:`_settle_garbage_collector`)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        opened = store or await open_store(settings)
        try:
            schema = await CustomFields(opened).load()
            authenticator = await Authenticator.from_settings(settings, opened)
            async with (
                running_events(settings, opened) as events,
                recurring(opened, "strength", settings.strength_interval, partial(compute_strength, opened)),
                recurring(opened, "influence", settings.influence_interval, partial(influence_job, opened)),
                recurring(opened, "segments", settings.segments_interval, partial(segments_job, opened)),
            ):
                app.state.rapport = app_state(settings, opened, schema, authenticator, events)
                if server_process:
                    _settle_garbage_collector()
                async with _following_custom_fields(app, events, server_process=server_process):
                    yield
        finally:
            if store is None:
                await opened.close()

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/db/{database}/query/v2", cypher_query, methods=["POST"]),
        Route("/auth/token", password_login, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(GraphQLFirst)],
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )


@asynccontextmanager
async def _following_custom_fields(
    app: Starlette, events: EventServices, *, server_process: bool
) -> AsyncIterator[None]:
    """For the length of the block, give ``app`` a new state whenever the custom fields declared
    change (never without an event stream: it then serves those it started with)."""
    if events.hub is None:
        yield
        return

    async def reload() -> None:
        state: AppState = app.state.rapport
        declared = await CustomFields(state.store).load()
        if declared.custom != state.schema.custom:
            app.state.rapport = await asyncio.to_thread(
                app_state, state.settings, state.store, declared, state.authenticator, events
            )
            if server_process:
                _settle_garbage_collector()

    async with running(follow_custom_fields(events.hub, reload), "rapport-custom-fields"):
        yield


def app_from_environment() -> Starlette:
    """The application configured by ``RAPPORT_*`` variables: the factory each uvicorn worker calls."""
    return create_app(load_settings(), server_process=True)


def _settle_garbage_collector() -> None:
    """Keep full collections rare and short in a long-running server.

    The schema, the compiled models and the imported libraries (hundreds of
    thousands of objects, alive for the whole run) are moved out of the
    collector's reach, and young collections run less often: a full collection
    walks every tracked object, and with thousands of WebSocket connections it
    stalled every delivery for over a second, several times a minute. Called again after the
    schema was rebuilt, it first lets the collector reach what was frozen, so that the schema
    replaced can go (one full collection: a pause per declaration of a custom field)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
