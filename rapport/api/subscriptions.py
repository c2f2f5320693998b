"""GraphQL subscriptions over WebSocket (``graphql-transport-ws`` and legacy ``graphql-ws``).

Strawberry speaks the protocols; Rapport authenticates the token sent in
``connection_init`` (a bad one closes the socket with 4403) and hands each
operation the actor and the change feed. The ``connection_ack`` names the
server process (``instance``), which tells apart the workers of one server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from rapport.auth.authenticator import Authenticator
from rapport.auth.errors import Unauthenticated
from rapport.events.feed import ChangeFeed


INSTANCE = uuid.uuid4().hex[:12]  # this server process, for the connection_ack


class SubscriptionServer(GraphQL[dict[str, Any], None]):
    """The WebSocket side of ``/graphql``."""

    def __init__(self, schema: strawberry.Schema, feed: ChangeFeed, authenticator: Authenticator) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            keep_alive=True,
            keep_alive_interval=15,
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.feed = feed
        self.authenticator = authenticator

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> dict[str, Any]:
        return {"request": request, "feed": self.feed, "actor": None, "subscriptions": 0}

    async def on_ws_connect(self, context: dict[str, Any]) -> dict[str, object]:
        params = context.get("connection_params") or {}
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
            asyncio.get_running_loop().call_later(delay, _close_expired, context["request"])
        return {"instance": INSTANCE}


def _close_expired(websocket: WebSocket) -> None:
    """The token ran out: the connection ends (the client reconnects with a fresh token)."""

    async def close() -> None:
        with contextlib.suppress(RuntimeError):  # already closed
            await websocket.close(code=4401, reason="token expired")

    _closing.add(task := asyncio.ensure_future(close()))
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Future[None]] = set()  # keeps close tasks alive until they finish
