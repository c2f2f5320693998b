"""GraphQL subscriptions over a real WebSocket (graphql-transport-ws), on each backend:
committed changes arrive with their sequence numbers, a client resuming with ``since``
gets what it missed, the token is checked at connection_init, and each subscriber sees
only the records it may read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
import websockets

from rapport.auth.actor import Role
from rapport.graph.types import GraphStore
from rapport.schema.graphql_subscription_types import MAX_SUBSCRIPTIONS_PER_CONNECTION
from tests.demo_facts import rep_with_own_and_other_deal
from tests.live_api import CHANGES, LiveApi, connect, live_api, next_change, subscribe


async def test_a_committed_change_arrives_and_a_resuming_client_gets_what_it_missed(live: LiveApi) -> None:
    since = await live.published_seq()
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


async def test_subscribers_of_one_document_get_the_fields_their_own_variables_select(live: LiveApi) -> None:
    # The server shares one selection among the subscriptions of a document: not across variables.
    query = (
        "subscription($since: Int, $labels: [String!], $detailed: Boolean!) {"
        " changes(since: $since, labels: $labels) { seq fields @include(if: $detailed) } }"
    )
    since = await live.published_seq()
    sockets = [await connect(live, live.token("admin")) for _ in range(2)]
    try:
        for socket, detailed in zip(sockets, (True, False), strict=True):
            await subscribe(socket, {"since": since, "labels": ["Account"], "detailed": detailed}, query)
        await live.mutate('mutation { createAccount(fields: {name: "Shared selection"}) { record { id } } }')
        detailed_change, brief_change = [await next_change(socket) for socket in sockets]
    finally:
        for socket in sockets:
            await socket.close()
    assert detailed_change["fields"]["name"] == [None, "Shared selection"]
    assert set(brief_change) == {"seq"} and brief_change["seq"] == detailed_change["seq"]


async def test_a_bad_token_is_refused_at_connection_init(live: LiveApi) -> None:
    socket = await connect(live, "not-a-token")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribers_only_see_records_they_may_read(live: LiveApi) -> None:
    rep, mine, theirs = await rep_with_own_and_other_deal(live.store)
    since = await live.published_seq()
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
    await subscribe(socket, {"since": await live.published_seq(), "labels": ["Segment"]})
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
    # The first fifty stay open and silent; the next one is refused with an error.
    assert (message["id"], message["type"]) == (str(MAX_SUBSCRIPTIONS_PER_CONNECTION), "error")
    assert "at most 50 subscriptions" in message["payload"][0]["message"]


async def test_the_legacy_graphql_ws_protocol_is_served_too(live: LiveApi) -> None:
    since = await live.published_seq()
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


async def test_a_ping_is_answered_with_a_pong(live: LiveApi) -> None:
    socket = await connect(live, live.token("admin"))
    try:
        assert orjson.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "connection_ack"
        await socket.send(orjson.dumps({"type": "ping"}).decode())
        pong = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
    finally:
        await socket.close()
    assert pong["type"] == "pong"


async def test_only_graphql_speaks_websocket(live: LiveApi) -> None:
    ws_base = live.base_url.replace("http", "ws")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{ws_base}/health")
    assert refused.value.response.status_code == 403


async def test_without_an_event_stream_subscriptions_are_refused_and_queries_still_served(
    demo_store: GraphStore, tmp_path: Path
) -> None:
    if demo_store.backend != "neo4j":
        pytest.skip("the embedded FalkorDB server always holds the event stream")
    async with live_api(demo_store, "", tmp_path) as api:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(api, api.token("admin"))
        assert refused.value.response.status_code == 503
        assert refused.value.response.body == b"subscriptions need an event stream: set RAPPORT_REDIS_URL"
        answer = await api.mutate("{ accounts(first: 1) { totalCount } }")
        assert answer["accounts"]["totalCount"] > 0
