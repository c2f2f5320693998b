"""A lean WebSocket client connection for benchmarks that hold thousands of subscribers.

The opening handshake, and every frame the client sends (masked), go through
the sans-I/O ``websockets.client.ClientProtocol``; what the server sends is
read here, by a frame reader that handles only what a server without
extensions sends (unmasked text, ping and close frames, no fragments). The
general reader costs several times more per message than the server spends
sending it, and the subscribers share the machine with the server they
measure.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Callable, Sequence
from typing import cast

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Close, Frame
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


class HandshakeFailed(Exception):
    """The server refused the WebSocket handshake or accepted an extension this reader cannot read."""


class LeanConnection(asyncio.Protocol):
    """One client connection; ``on_text(payload, received_at)`` gets each text message, with the
    wall-clock time at which the bytes holding it were read."""

    def __init__(
        self,
        url: str,
        subprotocols: Sequence[str],
        on_text: Callable[[bytes, float], None],
        *,
        offer_deflate: bool,
    ) -> None:
        extensions = [ClientPerMessageDeflateFactory()] if offer_deflate else []
        self._protocol = ClientProtocol(
            parse_uri(url), subprotocols=[Subprotocol(p) for p in subprotocols], extensions=extensions
        )
        self._on_text = on_text
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.close_reason = ""

    @classmethod
    async def open(
        cls,
        url: str,
        subprotocols: Sequence[str],
        on_text: Callable[[bytes, float], None],
        *,
        offer_deflate: bool,
        timeout: float,
    ) -> LeanConnection:
        """Connect to ``url`` (``ws://host:port/path``) and complete the opening handshake."""
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(
                lambda: cls(url, subprotocols, on_text, offer_deflate=offer_deflate), uri.host, uri.port
            ),
            timeout,
        )
        try:
            await asyncio.wait_for(asyncio.shield(connection._opened), timeout)
        except BaseException:
            connection.abort()
            raise
        return connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        self._protocol.send_request(self._protocol.connect())
        self._flush()

    def send_text(self, text: bytes) -> None:
        self._protocol.send_text(text)
        self._flush()

    async def close(self, timeout: float = 10.0) -> None:
        """The closing handshake: send a close frame, wait for the server's, then drop the socket."""
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(1000)
            self._flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        self.abort()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._opened.done():
            self._read_frames(data, time.time())
            return
        self._protocol.receive_data(data)
        for event in self._protocol.events_received():
            if isinstance(event, Response):
                self._handshake_answered(event)
            elif isinstance(event, Frame):  # a frame that came with the handshake's answer
                self._frame(event.opcode.value, bytes(event.data), time.time())
        if self._protocol.state is State.OPEN and self._protocol.extensions:
            self._opened.set_exception(HandshakeFailed("the server accepted permessage-deflate"))
        elif self._protocol.state is not State.CONNECTING and not self._opened.done():
            self._opened.set_result(None)

    def _handshake_answered(self, response: Response) -> None:
        if self._protocol.handshake_exc is not None:
            reason = f"{response.status_code} {response.reason_phrase}: {self._protocol.handshake_exc}"
            self._opened.set_exception(HandshakeFailed(reason))

    def _read_frames(self, data: bytes, received_at: float) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while len(buffer) - start >= 2:
            first, second = buffer[start], buffer[start + 1]
            length, header = second & 0x7F, 2
            if length == 126:
                if len(buffer) - start < 4:
                    break
                (length,), header = struct.unpack_from("!H", buffer, start + 2), 4
            elif length == 127:
                if len(buffer) - start < 10:
                    break
                (length,), header = struct.unpack_from("!Q", buffer, start + 2), 10
            end = start + header + length
            if len(buffer) < end:
                break
            self._frame(first & 0x0F, bytes(buffer[start + header : end]), received_at)
            start = end
        del buffer[:start]

    def _frame(self, opcode: int, payload: bytes, received_at: float) -> None:
        if opcode == _TEXT:
            self._on_text(payload, received_at)
        elif opcode == _PING:
            self._protocol.send_pong(payload)
            self._flush()
        elif opcode == _CLOSE:
            close = Close.parse(payload)
            self.close_code, self.close_reason = close.code, close.reason
            if self._protocol.state is State.OPEN:
                self._protocol.send_close(close.code if close.code != 1005 else 1000)
                self._flush()
            self.abort()
        elif opcode != _PONG:
            self.close_reason = f"unexpected frame with opcode {opcode}"
            self.abort()

    def _flush(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(self._protocol.data_to_send()))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._opened.done():
            self._opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)
