"""The relay: publishes committed outbox records to the event stream, in sequence order.

It runs as one task per server process: woken right after each mutation
commits, and on a timer so that records left by a crashed process (committed,
never published) go out too. A mutation hands over what it recorded, so
that the relay can publish it without reading the outbox back whenever it is
next in line (numbered right after the stream's last event); anything else
(a gap, another process's records) goes through the outbox.

Records are marked sent only after Redis holds them; a crash in between means
they are read again, found in the stream under their numbers, and only marked.
While running, the relay marks what it published in one write every
``mark_interval`` (on Neo4j, a write per publication held sustained load to
about 700 events/s, against 1,000 batched), and its own outbox reads pass
over what it has yet to mark; a crash forgets at most that much, which
costs a check, not a duplicate. A record that fails to publish stops the
batch, so no later event ever overtakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from dataclasses import dataclass, field

from rapport.events.outbox import Recorded
from rapport.events.stream import EventStream, StreamUnavailable
from rapport.graph.errors import StoreError
from rapport.graph.types import GraphStore, Record
from rapport.graph.values import now_millis

log = logging.getLogger(__name__)
_BUSY_RETRY_S = 0.02
_HANDED_OVER_MAX = 100_000  # records handed over and not yet published; beyond, the outbox serves
_FINAL_MARKS_S = 5.0  # how long a stopping relay may take to mark what it published
_FAILURE_PAUSE_S = 0.2  # after Redis or the store failed: marks due at once would retry in a busy loop


@dataclass
class OutboxRelay:
    store: GraphStore
    stream: EventStream
    batch_size: int = 500
    interval: float = 1.0  # seconds between sweeps when nothing wakes the relay
    mark_interval: float = 0.25  # seconds published records may wait, while running, to be marked sent
    retention_ms: int = 24 * 3600 * 1000  # sent outbox records are pruned after this long
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # this relay, in the relay lock
    _handed_over: dict[int, str] = field(default_factory=dict)  # seq -> payload, committed here
    _unmarked: list[int] = field(default_factory=list)  # published, not yet marked sent
    _unmarked_since: float = 0.0  # when the oldest of them was published (time.monotonic())
    _sweep_due: bool = True  # read the outbox on the next round: at start-up, once an interval has passed
    _swept_at: float = 0.0  # when the last sweep ended (time.monotonic())

    def wake(self, recorded: Recorded | None = None) -> None:
        """Publish soon: something was just committed (``recorded``, when the caller knows what)."""
        if recorded is not None and len(self._handed_over) < _HANDED_OVER_MAX:
            self._handed_over.update(recorded.numbered())
        else:
            self._sweep_due = True
        self._wake.set()

    async def publish_pending(self) -> int | None:
        """Publish every unsent record, oldest first, and mark it sent; return how many were newly
        published, or ``None`` when another process's relay is publishing (try again shortly: it
        may have read its batch before this process's last commit)."""
        published = await self._publish_round(sweep=not self._handed_over)
        await self._mark_published()
        return published

    async def _publish_round(self, *, sweep: bool) -> int | None:
        """Publish the handed-over records next in line, then, when there is a gap or ``sweep``
        is asked for, every unsent record; leave what it appended to be marked sent later."""
        published = 0
        while True:
            async with self.stream.exclusive(self._owner) as last:
                if last is None:
                    return None
                in_line = 0
                while next_in_line := self._next_in_line(last):  # more may be handed over meanwhile
                    await self._append_all(next_in_line)
                    in_line += len(next_in_line)
                    last = next_in_line[-1][0]
                published += in_line
                if not (sweep or self._handed_over):
                    return published
                rows = await self.store.read(
                    f"MATCH (o:_Outbox) {self._by_sent} WHERE o.sent = false AND NOT o.seq IN $unmarked "
                    "RETURN o.seq AS seq, o.payload AS payload ORDER BY seq LIMIT $n",
                    {"n": self.batch_size, "unmarked": self._unmarked},
                )
                if not rows:
                    return published
                newly, complete = await self._publish(rows, last)
                published += newly
            if complete and len(rows) < self.batch_size:
                return published
            sweep = True  # a full batch: more may be waiting

    @property
    def _by_sent(self) -> str:
        """Unsent records are found through the index on ``sent``. Left to its estimates, Neo4j
        may read them in sequence order through the unique index and skip the sent ones (it
        expects the unsent ones early), which costs every record kept: 100 ms for 100,000,
        every sweep, with the relay's publishing stalled meanwhile."""
        return self.store.dialect.index_hint("o", "_Outbox", "sent")

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
        """Append ``rows`` (in sequence order) to the stream and mark them sent; return how many
        were new, and whether all rows were handled.

        Rows numbered above the stream's last event (the usual case) go in one round trip.
        Rows at or below it were published before, by a relay that died or had not marked
        them yet, when the stream holds them under their numbers: they are only marked. A
        number the stream holds for another event (or no longer holds) means the outbox's
        numbering restarted below the stream's: the unsent records are renumbered above it,
        to be published on the next round."""
        behind = [row for row in rows if row["seq"] <= last]
        if behind:
            held = await self.stream.held([row["seq"] for row in behind])
            before = list(itertools.takewhile(lambda row: held.get(row["seq"]) == row["payload"], behind))
            if before:
                await self._mark_sent([row["seq"] for row in before])
            if len(before) < len(behind):
                await self._renumber_unsent_after(last)
                return 0, False
        fresh = [(row["seq"], row["payload"]) for row in rows[len(behind) :]]
        if fresh:
            await self._append_all(fresh)
        return len(fresh), True

    async def _append_all(self, events: list[tuple[int, str]]) -> None:
        """Append ``(seq, payload)`` events numbered above the stream's last; they are to be marked."""
        await self.stream.append_all(events)
        if not self._unmarked:
            self._unmarked_since = time.monotonic()
        self._unmarked += [seq for seq, _ in events]

    async def _mark_published(self) -> None:
        """Mark sent what this relay has published and not marked yet, in one write."""
        seqs, self._unmarked = self._unmarked, []
        if not seqs:
            return
        try:
            await self._mark_sent(seqs)
        except BaseException:
            self._unmarked = seqs + self._unmarked
            raise

    def _until_marks_due(self) -> float:
        """Seconds until what this relay published is to be marked sent (0: now)."""
        if len(self._unmarked) >= self.batch_size:
            return 0.0
        return max(0.0, self._unmarked_since + self.mark_interval - time.monotonic())

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
            f"WITH s MATCH (o:_Outbox) {self._by_sent} WHERE o.sent = false "
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
        """Publish until cancelled; failures are logged and retried on the next sweep.

        A round runs when records were handed over or a sweep is due (at start-up, every
        ``interval``, or when a commit's records were not handed over); a wake whose
        records an earlier round already published costs nothing. Marks coming due do not
        make a sweep due: under steady load they come due four times a second."""
        try:
            await self._publish_until_cancelled()
        finally:  # stopping: mark what was published (a crash leaves it to be checked at the next start)
            if self._unmarked:
                with contextlib.suppress(StoreError, TimeoutError):
                    await asyncio.wait_for(self._mark_published(), _FINAL_MARKS_S)

    async def _publish_until_cancelled(self) -> None:
        sweeps = 0
        while True:
            self._wake.clear()
            try:
                if self._sweep_due or self._handed_over:
                    sweep, self._sweep_due = self._sweep_due, False
                    if await self._publish_round(sweep=sweep) is None:  # another worker's relay is at it
                        self._sweep_due = sweep
                        await asyncio.sleep(_BUSY_RETRY_S)
                        continue
                    if sweep:
                        self._swept_at = time.monotonic()
                        sweeps += 1
                        if sweeps % 600 == 1:
                            await self.prune()
                if self._unmarked and not self._until_marks_due():
                    await self._mark_published()
            except (StreamUnavailable, StoreError) as error:
                log.warning("event relay: %s; retrying", error)
                self._swept_at = time.monotonic()  # a failed sweep is tried again an interval later
                await asyncio.sleep(_FAILURE_PAUSE_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), self._until_marks_due() if self._unmarked else self._until_sweep_due()
                )
            if not self._until_sweep_due():
                self._sweep_due = True

    def _until_sweep_due(self) -> float:
        """Seconds until the outbox is to be read again for records no wake announced (0: now)."""
        return max(0.0, self._swept_at + self.interval - time.monotonic())
