"""Uvicorn's sans-I/O WebSocket protocol with an ASGI extension to send many text messages in one go.

A burst of change events becomes several messages to each subscriber. Sent
the ASGI way, each one passes through every layer and costs its own
``transport.write``, a system call that on the loopback and in virtual
machines costs more than building the message. The extension
(:data:`SEND_TEXTS`, advertised in the connection's scope) takes
``{"type": "websocket.send", SEND_TEXTS: [utf-8 text, ...]}``: each text one
message, framed here and written together. Applications must use it only
where the scope advertises it.

The protocol also keeps the messages received for the application in a
lighter queue than uvicorn's: ten thousand idle subscribers each hold one.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from typing import Any, cast

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

SEND_TEXTS = "rapport.websocket.send_texts"
SEND_TEXTS_NOW = "now"  # in the extension's scope entry: writes texts at once where it can (True)
_FIN_TEXT = 0x81  # a whole text message in one frame


class _Inbox:
    """The ASGI receive events of one connection, for its one reader: a list and a future, where
    an ``asyncio.Queue`` holds three deques (2 KiB per connection)."""

    __slots__ = ("_events", "_waiter")

    def __init__(self) -> None:
        self._events: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, event: ASGIReceiveEvent) -> None:
        self._events.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._events

    async def get(self) -> ASGIReceiveEvent:
        while not self._events:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.pop(0)


class TextBatchWebSocketProtocol(WebSocketsSansIOProtocol):
    """``ws=`` for uvicorn: its sans-I/O protocol with the :data:`SEND_TEXTS` extension."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        self.scope["extensions"][SEND_TEXTS] = {SEND_TEXTS_NOW: self.send_texts_now}

    def send_texts_now(self, texts: Sequence[bytes]) -> bool:
        """Write ``texts`` (each one text message) at once, without awaiting anything, if the
        connection is open and the client keeps up (no back-pressure); False: nothing was written,
        send them the ASGI way."""
        if not self.writable.is_set() or self.disconnected or self.close_sent:
            return False
        if self.conn.state is not State.OPEN:
            return False
        self._write_texts(texts)
        return True

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] != "websocket.send" or SEND_TEXTS not in message:
            await super().send(message)
            if message["type"] == "websocket.accept":
                # Done with the handshake: its request and response need not live as long as the
                # connection. The handshake parser keeps the request until the connection ends: its
                # headers (the scope holds a copy) go now.
                self.request.headers.clear()
                del self.request, self.response
            return
        texts = cast(Sequence[bytes], message[SEND_TEXTS])  # type: ignore[literal-required]
        await self.writable.wait()
        if self.disconnected or self.conn.state is not State.OPEN:
            raise ClientDisconnected()
        if self.close_sent:
            return  # as for any message sent after the close
        self._write_texts(texts)

    def _write_texts(self, texts: Sequence[bytes]) -> None:
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
