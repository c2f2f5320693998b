"""How results leave the server: a burst of events reaches a subscriber whole and in order,
whether the server sends each batch in one write (Rapport's WebSocket protocol), compresses
the messages (an extension the protocol must frame through), or is plain uvicorn (one
message at a time); and the frames Rapport writes itself are ones a WebSocket client reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from rapport.api.websocket_protocol import TextBatchWebSocketProtocol, text_frames
from rapport.graph.types import GraphStore
from tests.live_api import connect, live_api, next_change, subscribe

SERVERS = {
    "batches in one write": {"ws": TextBatchWebSocketProtocol, "ws_per_message_deflate": False},
    "compressed messages": {"ws": TextBatchWebSocketProtocol, "ws_per_message_deflate": True},
    "plain uvicorn": {"ws": "websockets-sansio", "ws_per_message_deflate": False},
}


def read_frames(data: bytes) -> Iterator[Frame]:
    client = ClientProtocol(parse_uri("ws://localhost/graphql"), state=State.OPEN, max_size=None)
    client.receive_data(data)
    for event in client.events_received():
        assert isinstance(event, Frame)
        yield event


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
def test_text_frames_are_read_back_by_a_websocket_client(length: int) -> None:
    texts = [b"x" * length, '{"caf\u00e9": 1}'.encode()]
    frames = list(read_frames(text_frames(texts)))
    assert [(f.opcode, f.fin, bytes(f.data)) for f in frames] == [(Opcode.TEXT, True, t) for t in texts]


@pytest.mark.parametrize("server", SERVERS.values(), ids=SERVERS.keys())
async def test_a_burst_of_changes_arrives_whole_and_in_order(
    demo_store: GraphStore, redis_url: str, tmp_path: Path, server: dict[str, Any]
) -> None:
    async with live_api(demo_store, redis_url, tmp_path, uvicorn_options=server) as live:
        socket = await connect(live, live.token("admin"))
        try:
            await subscribe(socket, {"since": await live.published_seq(), "labels": ["Segment"]})
            names = [f"Burst {i}" for i in range(40)]
            items = ", ".join(f'{{fields: {{name: "{name}"}}}}' for name in names)
            await live.mutate(f"mutation {{ createSegments(items: [{items}]) {{ userErrors {{ code }} }} }}")
            changes = [await next_change(socket) for _ in names]
        finally:
            await socket.close()
    assert [c["fields"]["name"][1] for c in changes] == names
    seqs = [c["seq"] for c in changes]
    assert seqs == list(range(seqs[0], seqs[0] + len(names)))
