"""Fan-out of the event stream to the subscribers of one server process.

One task per process reads the Redis Stream (blocking ``XREAD``) and hands
each event to every subscriber's bounded queue, so ten thousand subscribers
cost one Redis connection, not ten thousand. A subscriber that falls a whole
queue behind is dropped with a reason instead of slowing the others. A
subscriber that gives ``since`` first gets what it missed from the stream,
then live events, with none twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis import exceptions as redis_errors

from rapport.events.stream import EventStream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamEvent:
    """One change event as consumers see it; ``seq`` orders and deduplicates."""

    seq: int
    payload: dict[str, Any]


class SubscriberTooSlow(Exception):
    """The subscriber's queue overflowed; it must reconnect with ``since`` to catch up."""


@dataclass(eq=False)
class _Subscriber:
    """One subscriber's bounded queue: a deque and a future to wake it (an ``asyncio.Queue`` costs
    several times the memory, and ten thousand subscribers each hold one)."""

    limit: int
    on_overflow: Callable[[], None]
    pending: deque[StreamEvent] = field(default_factory=deque)
    waiter: asyncio.Future[None] | None = None
    overflowed: bool = False

    def offer(self, event: StreamEvent) -> None:
        if self.overflowed:
            return
        if len(self.pending) < self.limit:
            self.pending.append(event)
        else:
            self.overflowed = True
            self.on_overflow()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def next(self) -> StreamEvent:
        """The next event; :class:`SubscriberTooSlow` once it has missed some."""
        while not self.overflowed and not self.pending:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        if self.overflowed:  # it has missed events: nothing more makes sense to it
            raise SubscriberTooSlow(f"fell more than {self.limit} events behind")
        return self.pending.popleft()


@dataclass
class EventHub:
    stream: EventStream
    queue_size: int = 1_000
    _subscribers: set[_Subscriber] = field(default_factory=set)

    async def run(self) -> None:
        """Read the stream from now on and fan each event out, until cancelled.

        Whatever Redis does (stops, restarts with or without its data, goes silent past the
        socket timeout: a ``TimeoutError``, not a ``ConnectionError``) is logged and waited
        out, never the end of the task: reading resumes after the last event fanned out, so
        subscribers miss nothing and get nothing twice.
        """
        last: str | None = None  # the stream's end when Redis first answers
        while True:
            try:
                if last is None:
                    last = f"{await self.stream.last_seq()}-0"
                entries = await self.stream.read(last, block_ms=1_000, count=self._read_size)
            except (redis_errors.RedisError, OSError) as error:
                log.warning("event hub: %s; retrying", error)
                await asyncio.sleep(0.5)
                continue
            for entry_id, payload in entries:
                last = entry_id
                self._publish(_event(entry_id, payload))

    @property
    def _read_size(self) -> int:
        """Events taken from the stream at once: at most half a queue, so that a burst never
        overflows a subscriber that had caught up."""
        return max(1, min(500, self.queue_size // 2))

    def _publish(self, event: StreamEvent) -> None:
        for subscriber in self._subscribers:
            subscriber.offer(event)

    async def events(
        self, since: int | None = None, on_overflow: Callable[[], None] = lambda: None
    ) -> AsyncIterator[StreamEvent]:
        """Events after ``since`` (what the stream still holds), then live ones, in order.

        ``on_overflow`` is called once when the subscriber falls a whole queue behind: its
        consumer may be stuck (e.g. writing to a client that does not read), so waiting for it
        to notice is not enough; the callback should disconnect it."""
        subscriber = _Subscriber(self.queue_size, on_overflow)
        self._subscribers.add(subscriber)
        try:
            seen = 0
            if since is not None:
                for entry_id, payload in await self.stream.entries_after(since):
                    event = _event(entry_id, payload)
                    seen = event.seq
                    yield event
            while True:
                event = await subscriber.next()
                if event.seq > seen:
                    seen = event.seq
                    yield event
        finally:
            self._subscribers.discard(subscriber)


def _event(entry_id: str, payload: str) -> StreamEvent:
    return StreamEvent(int(entry_id.split("-")[0]), orjson.loads(payload))
