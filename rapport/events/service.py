"""The event machinery of a server process, started with the app and stopped with it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from rapport.background import running
from rapport.config import Settings
from rapport.events.hub import EventHub
from rapport.events.outbox import Recorded
from rapport.events.relay import OutboxRelay
from rapport.events.stream import EventStream
from rapport.graph.connect import event_stream_url
from rapport.graph.types import GraphStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventServices:
    """The relay (publishes this store's outbox) and the hub (feeds subscribers); ``None`` when
    there is no Redis (Neo4j without ``RAPPORT_REDIS_URL``): events then wait in the outbox."""

    relay: OutboxRelay | None
    hub: EventHub | None

    def committed(self, recorded: Recorded) -> None:
        """A mutation committed ``recorded``: publish soon."""
        if self.relay is not None:
            self.relay.wake(recorded)


@asynccontextmanager
async def running_events(settings: Settings, store: GraphStore) -> AsyncIterator[EventServices]:
    url = event_stream_url(settings, store)
    if url is None:
        log.warning("no Redis for the event stream (set RAPPORT_REDIS_URL): events wait in the outbox")
        yield EventServices(None, None)
        return
    stream = EventStream.from_url(url, max_length=settings.events_max_length)
    hub = EventHub(stream, queue_size=settings.events_subscriber_queue)
    try:
        async with running(hub.run(), "rapport-event-hub"):
            if not settings.events_relay:
                yield EventServices(None, hub)
                return
            relay = OutboxRelay(store, stream, retention_ms=int(settings.outbox_retention * 1000))
            async with running(relay.run(), "rapport-event-relay"):
                yield EventServices(relay, hub)
    finally:
        await stream.close()
