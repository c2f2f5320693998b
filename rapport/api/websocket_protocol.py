"""Uvicorn's sans-I/O WebSocket protocol with an ASGI extension to send many text messages in one go.

A burst of change events becomes several messages to each subscriber. Sent
the ASGI way, each one passes through every layer and costs its own
``transport.write``, a system call that on the loopback and in virtual
machines costs more than building the message. The extension
(:data:`SEND_TEXTS`, advertised in the connection's scope) takes
``{"type": "websocket.send", SEND_TEXTS: [utf-8 text, ...]}``: each text one
message, framed here and written together. Applications must use it only
where the scope advertises it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

SEND_TEXTS = "rapport.websocket.send_texts"
_FIN_TEXT = 0x81  # a whole text message in one frame


class TextBatchWebSocketProtocol(WebSocketsSansIOProtocol):
    """``ws=`` for uvicorn: its sans-I/O protocol with the :data:`SEND_TEXTS` extension."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        self.scope["extensions"][SEND_TEXTS] = {}

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] != "websocket.send" or SEND_TEXTS not in message:
            await super().send(message)
            if message["type"] == "websocket.accept":
                # Done with the handshake: its request and response need not live as long as the connection.
                del self.request, self.response
            return
        texts = cast(Sequence[bytes], message[SEND_TEXTS])  # type: ignore[literal-required]
        await self.writable.wait()
        if self.disconnected or self.conn.state is not State.OPEN:
            raise ClientDisconnected()
        if self.close_sent:
            return  # as for any message sent after the close
        if self.conn.extensions:  # frames a negotiated extension must transform
            for text in texts:
                self.conn.send_text(text)
            self.transport.write(b"".join(self.conn.data_to_send()))
        else:
            self.transport.write(text_frames(texts))


def text_frames(texts: Sequence[bytes]) -> bytes:
    """Unmasked, unfragmented text frames (RFC 6455, 5.2), as a server sends them."""
    parts = []
    for text in texts:
        length = len(text)
        if length < 126:
            parts.append(bytes((_FIN_TEXT, length)))
        elif length < 1 << 16:
            parts.append(struct.pack("!BBH", _FIN_TEXT, 126, length))
        else:
            parts.append(struct.pack("!BBQ", _FIN_TEXT, 127, length))
        parts.append(text)
    return b"".join(parts)


# What a Rapport server gives uvicorn for WebSockets. Change events are small: compressing each
# costs more CPU than it saves bytes, and a compression context per connection triples its memory.
UVICORN_WEBSOCKET_OPTIONS: dict[str, Any] = {
    "ws": TextBatchWebSocketProtocol,
    "ws_per_message_deflate": False,
}
