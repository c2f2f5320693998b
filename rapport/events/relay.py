"""The relay: publishes committed outbox records to the event stream, in sequence order.

It runs as one task per server process: woken right after each mutation
commits, and on a timer so that records left by a crashed process (committed,
never published) go out too. A mutation hands over what it recorded, so
that the relay can publish it without reading the outbox back whenever it is
next in line (numbered right after the stream's last event); anything else
(a gap, another process's records) goes through the outbox. Records are marked sent only after Redis holds
them; a crash in between means they are published again, which the stream
turns into a no-op. A record that fails to publish stops the batch, so no
later event ever overtakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field

from rapport.events.outbox import Recorded
from rapport.events.stream import EventStream, SequenceBehindStream, StreamUnavailable
from rapport.graph.errors import StoreError
from rapport.graph.types import GraphStore, Record
from rapport.graph.values import now_millis

log = logging.getLogger(__name__)
_BUSY_RETRY_S = 0.02
_HANDED_OVER_MAX = 100_000  # records handed over and not yet published; beyond, the outbox serves


@dataclass
class OutboxRelay:
    store: GraphStore
    stream: EventStream
    batch_size: int = 500
    interval: float = 1.0  # seconds between sweeps when nothing wakes the relay
    retention_ms: int = 24 * 3600 * 1000  # sent outbox records are pruned after this long
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # this relay, in the relay lock
    _handed_over: dict[int, str] = field(default_factory=dict)  # seq -> payload, committed here

    def wake(self, recorded: Recorded | None = None) -> None:
        """Publish soon: something was just committed (``recorded``, when the caller knows what)."""
        if recorded is not None and len(self._handed_over) < _HANDED_OVER_MAX:
            self._handed_over.update(recorded.numbered())
        self._wake.set()

    async def publish_pending(self) -> int | None:
        """Publish every unsent record, oldest first; return how many were newly published, or
        ``None`` when another process's relay is publishing (try again shortly: it may have read
        its batch before this process's last commit)."""
        published = 0
        while True:
            async with self.stream.exclusive(self._owner) as last:
                if last is None:
                    return None
                next_in_line = self._next_in_line(last)
                if next_in_line:
                    await self._append_all(next_in_line)
                    published += len(next_in_line)
                    if not self._handed_over:
                        return published
                    last = next_in_line[-1][0]
                rows = await self.store.read(
                    "MATCH (o:_Outbox) WHERE o.sent = false RETURN o.seq AS seq, o.payload AS payload "
                    "ORDER BY seq LIMIT $n",
                    {"n": self.batch_size},
                )
                if not rows:
                    return published
                newly, complete = await self._publish(rows, last)
                published += newly
            if complete and len(rows) < self.batch_size:
                return published

    def _next_in_line(self, last: int) -> list[tuple[int, str]]:
        """Take the handed-over records numbered on from ``last`` without a gap (forgetting those
        the stream already holds): they may go out without reading the outbox."""
        for seq in [seq for seq in self._handed_over if seq <= last]:
            del self._handed_over[seq]
        run: list[tuple[int, str]] = []
        while (payload := self._handed_over.pop(last + 1 + len(run), None)) is not None:
            run.append((last + len(run) + 1, payload))
        return run

    async def _publish(self, rows: list[Record], last: int) -> tuple[int, bool]:
        """Append ``rows`` to the stream in order and mark those it took as sent; return how many
        were new, and whether all rows were handled. When all are numbered above the stream's
        last event (the usual case) they go in one round trip; otherwise one by one, telling
        events published before (by a relay that died before marking them) from numbers the
        stream holds for other events, on which the rest are renumbered, to be published on the
        next round."""
        if rows[0]["seq"] > last:
            await self._append_all([(row["seq"], row["payload"]) for row in rows])
            return len(rows), True
        published, done, behind = 0, [], None
        try:
            for row in rows:
                try:
                    published += await self.stream.append(row["seq"], row["payload"])
                except SequenceBehindStream as error:
                    behind = error
                    break
                done.append(row["seq"])
        finally:
            if done:
                await self._mark_sent(done)
        if behind is not None:
            await self._renumber_unsent_after(behind.last_seq)
        return published, behind is None

    async def _append_all(self, events: list[tuple[int, str]]) -> None:
        """Append ``(seq, payload)`` events numbered above the stream's last, then mark them sent."""
        await self.stream.append_all(events)
        await self._mark_sent([seq for seq, _ in events])

    async def _mark_sent(self, seqs: list[int]) -> None:
        await self.store.write(
            "MATCH (o:_Outbox) WHERE o.seq IN $seqs SET o.sent = true, o.sentAt = $now",
            {"seqs": seqs, "now": now_millis()},
        )

    async def _renumber_unsent_after(self, last_seq: int) -> None:
        """Number the unsent records (never published, so nobody has seen their numbers) on from
        above both ``last_seq`` and the sequence, in their order, and move the sequence past them.

        Taking the sequence node first makes concurrent mutations and relays wait, so no number
        is handed out twice; a relay that comes second finds no unsent record at or below
        ``last_seq`` any more and leaves the numbers alone."""
        await self.store.write(
            "MATCH (s:_OutboxSequence {name: 'events'}) SET s.value = s.value "
            "WITH s MATCH (o:_Outbox) WHERE o.sent = false "
            "WITH s, o ORDER BY o.seq WITH s, collect(o) AS pending "
            "WHERE pending[0].seq <= $last "
            "WITH s, pending, CASE WHEN s.value > $last THEN s.value ELSE $last END AS base "
            "SET s.value = base + size(pending) "
            "WITH pending, base UNWIND range(0, size(pending) - 1) AS i "
            "WITH pending[i] AS o, base + 1 + i AS seq SET o.seq = seq",
            {"last": last_seq},
        )
        self._handed_over.clear()  # their numbers may have changed
        log.warning(
            "event relay: the outbox sequence restarted below the stream; renumbered after %d", last_seq
        )

    async def prune(self) -> int:
        """Delete sent records older than the retention; return how many."""
        return await self.store.delete_in_batches(
            "MATCH (n:_Outbox) WHERE n.sent = true AND n.sentAt < $cutoff",
            {"cutoff": now_millis() - self.retention_ms},
        )

    async def run(self) -> None:
        """Publish until cancelled; failures are logged and retried on the next sweep."""
        sweeps = 0
        while True:
            self._wake.clear()
            try:
                if await self.publish_pending() is None:  # another worker's relay is at it
                    await asyncio.sleep(_BUSY_RETRY_S)
                    continue
                sweeps += 1
                if sweeps % 600 == 1:
                    await self.prune()
            except (StreamUnavailable, StoreError) as error:
                log.warning("event relay: %s; retrying", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
