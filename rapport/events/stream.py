"""The event stream on Redis: one Redis Stream whose entry ids are the outbox sequence numbers.

Using ``<seq>-0`` as the entry id makes publishing idempotent (Redis refuses
an id not above the last one, so an event published twice is stored once)
and lets a consumer resume from the last sequence number it saw. Beside the stream,
a key names the outbox numbering its numbers follow (see
:mod:`rapport.events.outbox`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from redis import asyncio as aioredis
from redis import exceptions as redis_errors

STREAM_KEY = "rapport:events"


_LOCK_TTL_MS = 10_000
# Takes the relay lock (KEYS[1]) for ARGV[1] and answers the stream's (KEYS[2]) last sequence
# number, as last_seq() reads it, and the numbering it follows (KEYS[3]); -1 when another relay
# holds the lock.
_TAKE_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {-1, false} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local numbering = redis.call('GET', KEYS[3])
if redis.call('EXISTS', KEYS[2]) == 0 then return {0, numbering} end
local info = redis.call('XINFO', 'STREAM', KEYS[2])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return {tonumber(string.match(info[i + 1], '^%d+')), numbering} end
end
return {0, numbering}
"""
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where the stream stands: its ``last`` sequence number, and the outbox ``numbering`` its
    numbers follow (``None`` until a relay has said)."""

    last: int
    numbering: str | None


class StreamUnavailable(Exception):
    """Redis cannot be reached, or does not take the event now (stopped, restarting, silent past
    the socket timeout, out of memory, a read-only replica): the relay retries later, and events
    wait in the outbox."""


@dataclass
class EventStream:
    """Appends events to, and trims, the Redis Stream of change events."""

    client: aioredis.Redis
    key: str = STREAM_KEY
    max_length: int = 1_000_000  # retention by count: roughly this many latest events are kept

    @classmethod
    def from_url(cls, url: str, *, max_length: int = 1_000_000) -> EventStream:
        return cls(aioredis.Redis.from_url(url), max_length=max_length)

    @property
    def _numbering_key(self) -> str:
        return f"{self.key}:numbering"

    async def append_all(self, events: Sequence[tuple[int, str]], *, numbering: str | None = None) -> None:
        """Add ``(seq, payload)`` events numbered above the stream's last event, in one round trip,
        and, when given, say that the stream follows ``numbering`` from now on.

        They go in as one MULTI/EXEC transaction: Redis answers a reader blocked on the stream
        after the whole transaction, with every event, where after a plain pipeline's first
        command it would answer with that one alone (a hub would then send each subscriber
        every mutation's events in two writes)."""
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                if numbering is not None:
                    pipe.set(self._numbering_key, numbering)
                for seq, payload in events:
                    pipe.xadd(
                        self.key,
                        {"payload": payload},
                        id=f"{seq}-0",
                        maxlen=self.max_length,
                        approximate=True,
                    )
                await pipe.execute()
        except (redis_errors.RedisError, OSError) as error:
            raise StreamUnavailable(str(error)) from error

    async def follow(self, numbering: str) -> None:
        """Say that the stream's next events follow the outbox's ``numbering``."""
        try:
            await self.client.set(self._numbering_key, numbering)
        except (redis_errors.RedisError, OSError) as error:
            raise StreamUnavailable(str(error)) from error

    async def held(self, seqs: Sequence[int]) -> dict[int, str]:
        """The payloads the stream holds under these sequence numbers (those it still holds),
        in one round trip."""
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for seq in seqs:
                    pipe.xrange(self.key, min=f"{seq}-0", max=f"{seq}-0")
                answers: list[Any] = await pipe.execute()
        except (redis_errors.RedisError, OSError) as error:
            raise StreamUnavailable(str(error)) from error
        held = zip(seqs, answers, strict=True)
        return {seq: entries[0][1][b"payload"].decode() for seq, entries in held if entries}

    @asynccontextmanager
    async def exclusive(self, owner: str) -> AsyncIterator[StreamPosition | None]:
        """The stream's position while ``owner`` (one relay) holds the relay lock for the block;
        ``None`` when another relay holds it. The relays of several workers take turns,
        so that none renumbers records another is in the middle of publishing, and the
        number stays the stream's last but for what the holder appends. The lock expires by
        itself if its holder dies, and an owner takes it again even when a request of its own
        that timed out took it after all."""
        key = f"{self.key}:relay"
        try:
            answer: Any = await self.client.eval(
                _TAKE_LOCK, 3, key, self.key, self._numbering_key, owner, _LOCK_TTL_MS
            )
        except (redis_errors.RedisError, OSError) as error:
            raise StreamUnavailable(str(error)) from error
        last, numbering = answer
        held = last >= 0
        try:
            yield StreamPosition(last, numbering.decode() if numbering else None) if held else None
        finally:
            if held:
                with contextlib.suppress(redis_errors.RedisError, OSError):  # else it expires
                    await self.client.eval(_RELEASE_LOCK, 1, key, owner)

    async def read(self, after: str, *, block_ms: int, count: int) -> list[tuple[str, str]]:
        """``(entry id, payload)`` of the entries after ``after``, waiting up to ``block_ms`` for one."""
        batches: Any = await self.client.xread({self.key: after}, count=count, block=block_ms)
        return [(i.decode(), f[b"payload"].decode()) for _, entries in batches or () for i, f in entries]

    async def entries_after(self, seq: int) -> list[tuple[str, str]]:
        """``(entry id, payload)`` of every entry the stream still holds after sequence number ``seq``."""
        entries: Any = await self.client.xrange(self.key, min=f"{seq + 1}-0")
        return [(i.decode(), f[b"payload"].decode()) for i, f in entries]

    async def last_seq(self) -> int:
        """The sequence number of the newest event in the stream (0 when empty)."""
        try:
            info = await self.client.xinfo_stream(self.key)
        except redis_errors.ResponseError:
            return 0  # no such key yet
        last = info["last-generated-id"]
        return int((last.decode() if isinstance(last, bytes) else str(last)).split("-")[0])

    async def close(self) -> None:
        await self.client.aclose()
