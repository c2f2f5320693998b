"""The event relay's life in a server process: started with the app, stopped with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rapport.config import Settings
from rapport.events.relay import OutboxRelay
from rapport.events.stream import EventStream
from rapport.graph.connect import event_stream_url
from rapport.graph.types import GraphStore

log = logging.getLogger(__name__)


@asynccontextmanager
async def running_relay(settings: Settings, store: GraphStore) -> AsyncIterator[OutboxRelay | None]:
    """The relay publishing this store's outbox, running until the block ends.

    ``None`` when no Redis is configured (Neo4j without ``RAPPORT_REDIS_URL``)
    or the relay is switched off: events then wait in the outbox, nothing is lost.
    """
    url = event_stream_url(settings, store)
    if url is None or not settings.events_relay:
        if url is None:
            log.warning("no Redis for the event stream (set RAPPORT_REDIS_URL): events wait in the outbox")
        yield None
        return
    stream = EventStream.from_url(url, max_length=settings.events_max_length)
    relay = OutboxRelay(store, stream, retention_ms=int(settings.outbox_retention * 1000))
    task = asyncio.create_task(relay.run(), name="rapport-event-relay")
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stream.close()
