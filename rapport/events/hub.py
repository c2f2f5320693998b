"""Fan-out of the event stream to the subscribers of one server process.

One task per process reads the Redis Stream (blocking ``XREAD``) and hands
each event to every subscriber's bounded queue, so ten thousand subscribers
cost one Redis connection, not ten thousand. A subscriber takes what waits in
its queue all at once: a burst of events costs it one wake-up, not one per
event. A subscriber that falls a whole queue behind is dropped with a reason
instead of slowing the others. A subscriber that gives ``since`` first gets
what it missed from the stream, then live events, with none twice. A subscriber
waiting, caught up, may take events at once instead, from the hub's task (see
``batches``' ``direct``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis import exceptions as redis_errors

from rapport.events.stream import EventStream

log = logging.getLogger(__name__)
_OFFERS_BETWEEN_YIELDS = 500


@dataclass(frozen=True)
class StreamEvent:
    """One change event as consumers see it; ``seq`` orders and deduplicates.

    ``shared`` holds what its consumers work out from it once for all of them (a result many
    identical subscriptions deliver), for as long as one of them still holds the event."""

    seq: int
    payload: dict[str, Any]
    shared: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)


class SubscriberTooSlow(Exception):
    """The subscriber's queue overflowed; it must reconnect with ``since`` to catch up."""


# Takes events that arrived together at once, from the hub's task: True when they are handled (sent,
# or not for this subscriber), False when they must wait in the queue for the subscriber's own task.
DirectDelivery = Callable[[list[StreamEvent]], bool]


@dataclass(eq=False)
class _Subscriber:
    """One subscriber's bounded queue: a list and a future to wake it (an ``asyncio.Queue`` or even a
    deque costs several times the memory, and ten thousand subscribers each hold one).

    A subscriber with a ``direct`` way in that is waiting, caught up, gets events through it, all
    those read together at once: waking its task costs more than the delivery (each wake-up
    resumes a chain of generators whose frames, one set per subscriber, have long left the CPU's
    caches)."""

    limit: int
    on_overflow: Callable[[], None]
    direct: DirectDelivery | None = None
    seen: int = 0  # the last event it was given
    pending: list[StreamEvent] = field(default_factory=list)
    waiter: asyncio.Future[None] | None = None
    overflowed: bool = False

    def offer(self, events: list[StreamEvent]) -> None:
        """``events`` (in order, read together): those after :attr:`seen` are handled at once or queued."""
        events = self._unseen(events)
        if self.overflowed or not events:
            return
        if self.direct is not None and self._waiting_caught_up and self._handled_directly(events):
            self.seen = events[-1].seq
            return
        if len(self.pending) + len(events) <= self.limit:
            self.pending.extend(events)
        else:
            self.overflowed = True
            self.on_overflow()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _unseen(self, events: list[StreamEvent]) -> list[StreamEvent]:
        """``events`` (in order) after :attr:`seen`: mostly all of them, not copied; fewer where the
        stream's replay after ``since`` already gave some."""
        if not events or events[0].seq > self.seen:
            return events
        return [event for event in events if event.seq > self.seen]

    def _handled_directly(self, events: list[StreamEvent]) -> bool:
        assert self.direct is not None
        try:
            return self.direct(events)
        except Exception:  # the subscriber's own task meets the error again, and reports it to its client
            return False

    @property
    def _waiting_caught_up(self) -> bool:
        """Parked in :meth:`take` with nothing queued: what it was given before has all been handled,
        so an event handled now keeps its order."""
        return not self.pending and self.waiter is not None and not self.waiter.done()

    async def take(self) -> list[StreamEvent]:
        """Every event waiting (at least one), newer than :attr:`seen`; :class:`SubscriberTooSlow`
        once it has missed some."""
        while True:
            while not self.overflowed and not self.pending:
                self.waiter = asyncio.get_running_loop().create_future()
                await self.waiter
            if self.overflowed:  # it has missed events: nothing more makes sense to it
                raise SubscriberTooSlow(f"fell more than {self.limit} events behind")
            taken, self.pending = self._unseen(self.pending), []
            if taken:
                self.seen = taken[-1].seq
                return taken


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
            if entries:
                last = entries[-1][0]
                await self._publish([_event(entry_id, payload) for entry_id, payload in entries])

    @property
    def _read_size(self) -> int:
        """Events taken from the stream at once: at most half a queue, so that a burst never
        overflows a subscriber that had caught up."""
        return max(1, min(500, self.queue_size // 2))

    async def _publish(self, events: list[StreamEvent]) -> None:
        """Offer ``events`` (read together) to every subscriber, letting other tasks run every so
        often: direct deliveries to ten thousand subscribers would otherwise hold the loop for a
        whole fan-out."""
        for n, subscriber in enumerate(tuple(self._subscribers), start=1):
            subscriber.offer(events)
            if n % _OFFERS_BETWEEN_YIELDS == 0:
                await asyncio.sleep(0)

    async def batches(
        self,
        since: int | None = None,
        on_overflow: Callable[[], None] = lambda: None,
        direct: DirectDelivery | None = None,
    ) -> AsyncGenerator[list[StreamEvent], None]:
        """Events after ``since`` (what the stream still holds), then live ones, in order, in
        batches of what arrived together.

        ``on_overflow`` is called once when the subscriber falls a whole queue behind: its
        consumer may be stuck (e.g. writing to a client that does not read), so waiting for it
        to notice is not enough; the callback should disconnect it. ``direct`` handles live events
        at once while the consumer waits here, caught up; those it declines come in batches."""
        subscriber = _Subscriber(self.queue_size, on_overflow, direct)
        self._subscribers.add(subscriber)
        try:
            if since is not None:
                missed = [
                    _event(entry_id, payload) for entry_id, payload in await self.stream.entries_after(since)
                ]
                for start in range(0, len(missed), self._read_size):
                    batch = missed[start : start + self._read_size]
                    subscriber.seen = batch[-1].seq
                    yield batch
            while True:
                yield await subscriber.take()
        finally:
            self._subscribers.discard(subscriber)


def _event(entry_id: str, payload: str) -> StreamEvent:
    return StreamEvent(int(entry_id.split("-")[0]), orjson.loads(payload))
