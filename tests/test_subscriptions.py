"""GraphQL subscriptions over a real WebSocket (graphql-transport-ws), on each backend:
committed changes arrive with their sequence numbers, a client resuming with ``since``
gets what it missed, the token is checked at connection_init, and each subscriber sees
only the records it may read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
import websockets
from pydantic import SecretStr

from rapport.app import create_app
from rapport.auth.actor import Role
from rapport.auth.tokens import TokenIssuer
from rapport.events.stream import EventStream
from rapport.graph.types import GraphStore
from rapport.schema.graphql_subscription_types import MAX_SUBSCRIPTIONS_PER_CONNECTION
from tests.conftest import settings_for
from tests.demo_facts import rep_with_own_and_other_deal
from tests.http_server import serving

CHANGES = "subscription($since: Int, $labels: [String!]) { changes(since: $since, labels: $labels) { seq type label ids fields actor } }"  # noqa: E501


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
        stream = EventStream.from_url(self.redis_url)
        try:
            return await stream.last_seq()
        finally:
            await stream.close()


@pytest_asyncio.fixture(scope="module")
async def live(
    demo_store: GraphStore, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveApi]:
    settings = settings_for(demo_store.backend, tmp_path_factory.mktemp("live")).model_copy(
        update={"redis_url": redis_url, "jwt_secret": SecretStr("subscription-tests-secret-of-32-chars")}
    )
    async with serving(create_app(settings, store=demo_store)) as base_url:
        yield LiveApi(base_url, TokenIssuer.from_settings(settings), redis_url, demo_store)


async def connect(live: LiveApi, token: str) -> websockets.ClientConnection:
    socket = await websockets.connect(
        live.base_url.replace("http", "ws") + "/graphql",
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
    )
    await socket.send(
        orjson.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}).decode()
    )
    return socket


async def subscribe(socket: websockets.ClientConnection, variables: dict[str, Any]) -> None:
    ack = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
    assert ack["type"] == "connection_ack", ack
    message = {"id": "1", "type": "subscribe", "payload": {"query": CHANGES, "variables": variables}}
    await socket.send(orjson.dumps(message).decode())


async def next_change(socket: websockets.ClientConnection) -> dict[str, Any]:
    while True:
        message = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
        if message["type"] == "next":
            change: dict[str, Any] = message["payload"]["data"]["changes"]
            return change
        assert message["type"] in ("ping", "pong"), message


async def test_a_committed_change_arrives_and_a_resuming_client_gets_what_it_missed(live: LiveApi) -> None:
    since = await live.last_seq()
    socket = await connect(live, live.token("admin"))
    try:
        await subscribe(socket, {"since": since, "labels": ["Account"]})
        created = await live.mutate(
            'mutation { createAccount(fields: {name: "Streamed"}) { record { id } } }'
        )
        change = await next_change(socket)
        assert change["type"] == "created" and change["label"] == "Account"
        assert change["ids"] == [created["createAccount"]["record"]["id"]]
        assert change["fields"]["name"] == [None, "Streamed"] and change["actor"] == "test:admin"
        first_seq = change["seq"]
    finally:
        await socket.close()
    # Offline: two more changes; on reconnect with since, both arrive, in order.
    await live.mutate('mutation { createAccount(fields: {name: "Missed one"}) { record { id } } }')
    await live.mutate('mutation { createAccount(fields: {name: "Missed two"}) { record { id } } }')
    socket = await connect(live, live.token("admin"))
    try:
        await subscribe(socket, {"since": first_seq, "labels": ["Account"]})
        missed = [await next_change(socket), await next_change(socket)]
    finally:
        await socket.close()
    assert [m["fields"]["name"][1] for m in missed] == ["Missed one", "Missed two"]
    assert missed[0]["seq"] < missed[1]["seq"]


async def test_a_bad_token_is_refused_at_connection_init(live: LiveApi) -> None:
    socket = await connect(live, "not-a-token")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribers_only_see_records_they_may_read(live: LiveApi) -> None:
    rep, mine, theirs = await rep_with_own_and_other_deal(live.store)
    since = await live.last_seq()
    socket = await connect(live, live.token("sales", user_id=rep))
    try:
        await subscribe(socket, {"since": since, "labels": ["Deal"]})
        update = (
            "mutation($id: ID!, $r: String!) { updateDeal(id: $id, set: {lossReason: $r}) { record { id } } }"
        )
        await live.mutate(update, {"id": f"Deal:{theirs}", "r": "not yours"})
        await live.mutate(update, {"id": f"Deal:{mine}", "r": "yours"})
        change = await next_change(socket)
    finally:
        await socket.close()
    assert change["ids"] == [f"Deal:{mine}"] and change["fields"]["lossReason"][1] == "yours"


async def test_a_token_that_expires_closes_the_connection(live: LiveApi) -> None:
    short = live.issuer.issue(subject="test:short", role=Role.ADMIN, ttl=2)
    socket = await connect(live, short)
    await subscribe(socket, {"since": await live.last_seq(), "labels": ["Segment"]})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), 6)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "token expired")


async def test_subscriptions_per_connection_are_capped(live: LiveApi) -> None:
    socket = await connect(live, live.token("admin"))
    try:
        ack = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
        assert ack["type"] == "connection_ack"
        for n in range(MAX_SUBSCRIPTIONS_PER_CONNECTION + 1):
            payload = {"query": CHANGES, "variables": {"labels": ["Segment"]}}
            await socket.send(orjson.dumps({"id": str(n), "type": "subscribe", "payload": payload}).decode())
        message = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
    finally:
        await socket.close()
    # The first fifty stay open and silent; the next one is answered with an error.
    assert message["id"] == str(MAX_SUBSCRIPTIONS_PER_CONNECTION)
    assert "at most 50 subscriptions" in message["payload"]["errors"][0]["message"]


async def test_the_legacy_graphql_ws_protocol_is_served_too(live: LiveApi) -> None:
    since = await live.last_seq()
    socket = await websockets.connect(
        live.base_url.replace("http", "ws") + "/graphql", subprotocols=[websockets.Subprotocol("graphql-ws")]
    )
    try:
        token = live.token("admin")
        await socket.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            ).decode()
        )
        assert orjson.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "connection_ack"
        start = {"query": CHANGES, "variables": {"since": since, "labels": ["Account"]}}
        await socket.send(orjson.dumps({"id": "1", "type": "start", "payload": start}).decode())
        await live.mutate('mutation { createAccount(fields: {name: "Legacy"}) { record { id } } }')
        while True:
            message = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
            if message["type"] == "data":
                break
            assert message["type"] == "ka", message
    finally:
        await socket.close()
    assert message["payload"]["data"]["changes"]["fields"]["name"] == [None, "Legacy"]
