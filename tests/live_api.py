"""A live API server on a test's store, and a real graphql-transport-ws client for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets
from pydantic import SecretStr

from rapport.app import create_app
from rapport.auth.actor import Role
from rapport.auth.tokens import TokenIssuer
from rapport.events.stream import EventStream
from rapport.graph.types import GraphStore
from tests.conftest import settings_for
from tests.http_server import serving

CHANGES = "subscription($since: Int, $labels: [String!]) { changes(since: $since, labels: $labels) { seq type label ids fields actor } }"  # noqa: E501


async def committed_seq(store: GraphStore) -> int:
    """The sequence number of the newest committed outbox record (0 when none), pruned or not."""
    rows = await store.read("OPTIONAL MATCH (s:_OutboxSequence {name: 'events'}) RETURN s.value AS seq")
    return int(rows[0]["seq"] or 0)


@dataclass
class LiveApi:
    base_url: str
    issuer: TokenIssuer
    redis_url: str
    store: GraphStore

    def token(self, role: str, user_id: str | None = None) -> str:
        return self.issuer.issue(subject=f"test:{role}", role=Role(role), user_id=user_id)

    async def mutate(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{self.base_url}/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {self.token('admin')}"},
            )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def last_seq(self) -> int:
        """The stream's last sequence number, as it is now."""
        stream = EventStream.from_url(self.redis_url)
        try:
            return await stream.last_seq()
        finally:
            await stream.close()

    async def published_seq(self) -> int:
        """The stream's last sequence number once it holds every event committed so far.

        The relay publishes after a mutation has answered; asking the stream straight away could
        give a number from before that mutation's events, which a subscription from it replays.
        """
        committed = await committed_seq(self.store)
        async with asyncio.timeout(10):
            while (published := await self.last_seq()) < committed:
                await asyncio.sleep(0.01)
        return published


@asynccontextmanager
async def live_api(
    store: GraphStore,
    redis_url: str,
    data_dir: Path,
    uvicorn_options: dict[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[LiveApi]:
    """A Rapport server on ``store`` with its event stream on ``redis_url``; ``settings`` override
    Rapport's settings, ``uvicorn_options`` the server's."""
    configured = settings_for(store.backend, data_dir).model_copy(
        update={"redis_url": redis_url, "jwt_secret": SecretStr("subscription-tests-secret-of-32-chars")}
        | settings
    )
    async with serving(create_app(configured, store=store), **(uvicorn_options or {})) as base_url:
        yield LiveApi(base_url, TokenIssuer.from_settings(configured), redis_url, store)


async def connect(live: LiveApi, token: str, **options: Any) -> websockets.ClientConnection:
    """A graphql-transport-ws connection that has sent connection_init with ``token``."""
    socket = await websockets.connect(
        live.base_url.replace("http", "ws") + "/graphql",
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        **options,
    )
    await socket.send(
        orjson.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}).decode()
    )
    return socket


async def subscribe(
    socket: websockets.ClientConnection, variables: dict[str, Any], query: str = CHANGES
) -> None:
    """Wait for the connection_ack, then start ``query`` as operation 1."""
    ack = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
    assert ack["type"] == "connection_ack", ack
    message = {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
    await socket.send(orjson.dumps(message).decode())


async def next_result(socket: websockets.ClientConnection, timeout: float = 5) -> dict[str, Any]:
    """The payload of the next ``next`` message (keepalive pings skipped)."""
    while True:
        message = orjson.loads(await asyncio.wait_for(socket.recv(), timeout))
        if message["type"] == "next":
            payload: dict[str, Any] = message["payload"]
            return payload
        assert message["type"] in ("ping", "pong"), message


async def next_change(socket: websockets.ClientConnection) -> dict[str, Any]:
    change: dict[str, Any] = (await next_result(socket))["data"]["changes"]
    return change
