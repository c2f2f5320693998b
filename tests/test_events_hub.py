"""The hub's fan-out of the event stream to one process's subscribers: a subscriber waiting,
caught up, takes live events through its direct way in (no task woken); what it declines, and
whatever arrives while it is busy, reaches it through its batches, in order, once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import orjson
import pytest_asyncio

from rapport.events.hub import EventHub, StreamEvent
from rapport.events.stream import EventStream


@pytest_asyncio.fixture
async def stream(redis_url: str) -> AsyncIterator[EventStream]:
    stream = EventStream.from_url(redis_url)
    stream.key = f"test-hub:{uuid.uuid4().hex}"  # a stream of this test's own
    yield stream
    await stream.client.delete(stream.key)
    await stream.client.aclose()


def event_payload(decline: bool = False) -> str:
    return orjson.dumps({"type": "created", "label": "Segment", "decline": decline}).decode()


async def append(stream: EventStream, seq: int) -> None:
    await stream.append_all([(seq, event_payload())])


@pytest_asyncio.fixture
async def running(stream: EventStream) -> AsyncIterator[tuple[EventHub, int]]:
    """A hub reading ``stream``, and the last event appended once it surely reads it."""
    hub = EventHub(stream)
    task = asyncio.create_task(hub.run())
    probe = hub.batches()
    arrived = asyncio.ensure_future(anext(probe))
    seq = 0
    while not arrived.done():
        seq += 1
        await append(stream, seq)
        await asyncio.wait({arrived}, timeout=0.05)
    await probe.aclose()
    yield hub, seq
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_a_waiting_subscriber_takes_events_at_once_and_the_rest_in_order_through_its_batches(
    stream: EventStream, running: tuple[EventHub, int]
) -> None:
    hub, last = running
    taken_at_once: list[int] = []

    def direct(events: list[StreamEvent]) -> bool:
        if any(event.payload["decline"] for event in events):
            return False
        taken_at_once.extend(event.seq for event in events)
        return True

    batches = hub.batches(direct=direct)
    first = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.05)  # the subscriber waits, caught up
    await append(stream, last + 1)
    await append(stream, last + 2)
    await until(lambda: len(taken_at_once) == 2)
    # A declined event wakes the subscriber; one arriving with it waits behind it, whatever its kind.
    together = stream.client.pipeline(transaction=True)
    together.xadd(stream.key, {"payload": event_payload(decline=True)}, id=f"{last + 3}-0")
    together.xadd(stream.key, {"payload": event_payload()}, id=f"{last + 4}-0")
    await together.execute()
    assert [event.seq for event in await first] == [last + 3, last + 4]
    # Caught up again: the next one is taken at once.
    waiting = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.05)
    await append(stream, last + 5)
    await until(lambda: len(taken_at_once) == 3)
    assert taken_at_once == [last + 1, last + 2, last + 5] and not waiting.done()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await batches.aclose()


async def test_events_published_together_reach_a_waiting_subscriber_in_one_batch(
    stream: EventStream, running: tuple[EventHub, int]
) -> None:
    hub, last = running
    batches = hub.batches()
    first = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.05)  # the subscriber waits, caught up, and the hub on the stream
    together = [
        (last + n, event_payload()) for n in range(1, 11)
    ]  # one mutation's events, as the relay has them
    await stream.append_all(together)
    assert [event.seq for event in await first] == [seq for seq, _ in together]
    await batches.aclose()
