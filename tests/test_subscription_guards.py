"""What protects the subscription server, on each backend: only allowed web origins may open a
WebSocket, and a client that does not keep up is disconnected with a reason while the others
get every event."""

from __future__ import annotations

import asyncio
import socket as sockets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import orjson
import pytest
import pytest_asyncio
import websockets
from websockets import Subprotocol
from websockets.client import ClientProtocol
from websockets.frames import Close, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from rapport.graph.types import GraphStore
from tests.live_api import LiveApi, connect, live_api, next_change, subscribe

QUEUE = 20  # events a subscriber may fall behind here
ALLOWED = "https://crm.example.com"


@pytest_asyncio.fixture(scope="module")
async def guarded(
    demo_store: GraphStore, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveApi]:
    async with live_api(
        demo_store,
        redis_url,
        tmp_path_factory.mktemp("guarded"),
        allowed_origins=[ALLOWED],
        events_subscriber_queue=QUEUE,
    ) as api:
        yield api


async def handshake(api: LiveApi, origin: str | None) -> int | None:
    """The HTTP status refusing the WebSocket handshake from ``origin``; ``None`` when accepted."""
    try:
        socket = await connect(api, api.token("admin"), origin=origin)
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    await socket.close()
    return None


async def test_only_the_servers_own_and_allowed_origins_may_open_a_websocket(guarded: LiveApi) -> None:
    own = f"http://{urlsplit(guarded.base_url).netloc}"
    assert await handshake(guarded, ALLOWED) is None
    assert await handshake(guarded, own) is None
    assert await handshake(guarded, None) is None  # not a browser: the token decides
    assert await handshake(guarded, "https://evil.example") == 403


class StalledClient:
    """A graphql-transport-ws client on a plain socket with a small receive buffer, that reads
    nothing after subscribing until told to: the kernel's buffers fill up, then the server's."""

    def __init__(self, url: str, token: str, query: str) -> None:
        self.protocol = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol("graphql-transport-ws")])
        parts = urlsplit(url)
        self.socket = sockets.socket()
        self.socket.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)
        self.socket.settimeout(10)
        self.socket.connect((parts.hostname, parts.port))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.handshake_exc is None and self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(self.socket.recv(65536))
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc
        self.protocol.events_received()
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        for message in (init, {"id": "1", "type": "subscribe", "payload": {"query": query}}):
            self.protocol.send_text(orjson.dumps(message))
        self._flush()

    def _flush(self) -> None:
        self.socket.sendall(b"".join(self.protocol.data_to_send()))

    def read_until_closed(self) -> tuple[int, Close | None]:
        """Read everything: how many ``next`` messages came, and the close frame (if any)."""
        received = 0
        while data := self.socket.recv(1 << 20):
            self.protocol.receive_data(data)
            for frame in self.protocol.events_received():
                if frame.opcode is Opcode.TEXT and orjson.loads(frame.data)["type"] == "next":
                    received += 1
                elif frame.opcode is Opcode.CLOSE:
                    return received, Close.parse(frame.data)
        return received, None

    def close(self) -> None:
        self.socket.close()


async def test_a_client_that_does_not_read_is_dropped_while_others_get_everything(guarded: LiveApi) -> None:
    query = 'subscription { changes(labels: ["Ticket"]) { seq fields } }'
    url, token = guarded.base_url.replace("http", "ws") + "/graphql", guarded.token("admin")
    stalled = await asyncio.to_thread(StalledClient, url, token, query)
    fast = await connect(guarded, token)
    try:
        await subscribe(fast, {"labels": ["Ticket"]})
        await asyncio.sleep(0.2)  # both subscriptions started
        # Large events (50 kB), so that the socket buffers fill after a few dozen.
        ticket = (
            '{fields: {subject: "Jam", status: open, priority: high, channel: email, description: $text}}'
        )
        create = f"mutation($text: String!) {{ createTickets(items: [{', '.join([ticket] * 50)}]) {{ userErrors {{ code }} }} }}"  # noqa: E501
        received: list[int] = []
        for batch in range(1, 5):
            await guarded.mutate(create, {"text": "smoke " * 8_000})
            while len(received) < 50 * batch:
                received.append((await next_change(fast))["seq"])
        count, close = await asyncio.to_thread(stalled.read_until_closed)
    finally:
        stalled.close()
        await fast.close()
    assert len(received) == len(set(received)) == 200 and received == sorted(received)
    assert close is not None and close.code == 4429 and "too slow" in close.reason
    assert 0 < count < 200  # it got what fitted in the socket buffers, then the reason
