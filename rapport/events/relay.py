"""The relay: publishes committed outbox records' events to the event stream, in sequence order.

It runs as one task per server process: woken right after each mutation
commits, and on a timer so that records left by a crashed process (committed,
never published) go out too. A mutation hands over what it recorded, so
that the relay can publish it without reading the outbox back whenever it is
next in line (numbered right after the stream's last event); anything else
(a gap, another process's records) goes through the outbox.

Records are marked sent only after Redis holds their events; a crash in between
means they are read again, found in the stream under their numbers, and only
marked. A record's events go to Redis together (one MULTI/EXEC), so the stream
holds all of a record's events or none.
While running, the relay marks what it published in one write every
``mark_interval`` (on Neo4j, a write per publication held sustained load to
about 700 events/s, against 1,000 batched), and its own outbox reads pass
over what it has yet to mark; a crash forgets at most that much, which
costs a check, not a duplicate. A record that fails to publish stops the
batch, so no later event ever overtakes it.

A handed-over record goes out by its number only while the stream follows the
numbering it was committed in, and only when the records the stream already
holds under the numbers before it are this outbox's: after the graph was
cleared or restored, numbers start again below the stream's last, and the
outbox is read and its unsent records numbered anew above the stream, in a new
numbering that the stream follows before the store does (so a record handed
over under its old number is never published under it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from rapport.events.outbox import OutboxRecord, Recorded, new_numbering
from rapport.events.stream import EventStream, StreamPosition, StreamUnavailable
from rapport.graph.errors import StoreError
from rapport.graph.types import GraphStore
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
    batch_size: int = 500  # records read from the outbox at once, and events appended to the stream at once
    interval: float = 1.0  # seconds between sweeps when nothing wakes the relay
    mark_interval: float = 0.25  # seconds published records may wait, while running, to be marked sent
    retention_ms: int = 24 * 3600 * 1000  # sent outbox records are pruned after this long
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # this relay, in the relay lock
    _handed_over: dict[int, Recorded] = field(default_factory=dict)  # by the record's first number
    _unmarked: list[int] = field(default_factory=list)  # first numbers of records published, not yet marked
    _unmarked_since: float = 0.0  # when the oldest of them was published (time.monotonic())
    _sweep_due: bool = True  # read the outbox on the next round: at start-up, once an interval has passed
    _swept_at: float = 0.0  # when the last sweep ended (time.monotonic())

    def wake(self, recorded: Recorded | None = None) -> None:
        """Publish soon: something was just committed (``recorded``, when the caller knows what)."""
        if recorded is not None and len(self._handed_over) < _HANDED_OVER_MAX:
            self._handed_over[recorded.record.first] = recorded
        else:
            self._sweep_due = True
        self._wake.set()

    async def publish_pending(self) -> int | None:
        """Publish every unsent record, oldest first, and mark it sent; return how many events were
        newly published, or ``None`` when another process's relay is publishing (try again shortly: it
        may have read its batch before this process's last commit)."""
        published = await self._publish_round(sweep=not self._handed_over)
        await self._mark_published()
        return published

    async def _publish_round(self, *, sweep: bool) -> int | None:
        """Publish the handed-over records next in line, then, when there is a gap or ``sweep``
        is asked for, every unsent record; leave what it appended to be marked sent later."""
        published = 0
        while True:
            async with self.stream.exclusive(self._owner) as position:
                if position is None:
                    return None
                last = position.last
                while True:  # more may be handed over meanwhile
                    next_in_line, outbox_needed = await self._take_in_line(position.numbering, last)
                    sweep |= outbox_needed
                    if not next_in_line:
                        break
                    await self._append_all(next_in_line)
                    published += _events_in(next_in_line)
                    last = next_in_line[-1].last
                if not (sweep or self._handed_over):
                    return published
                unsent = await self._read_unsent("NOT o.seq IN $unmarked", {"unmarked": self._unmarked})
                if not unsent.records:
                    return published
                newly, complete = await self._publish(
                    unsent.records, unsent.numbering, StreamPosition(last, position.numbering)
                )
                published += newly
            if complete and not unsent.more:
                return published
            sweep = True  # more may be waiting

    async def _read_unsent(self, condition: str, params: dict[str, Any]) -> _Unsent:
        """The first unsent records meeting ``condition``, in sequence order: ``batch_size``
        records at most, and only as many as hold about ``batch_size`` events (one at least),
        so that a backlog of big records (an import's, while Redis was down) is read a batch
        at a time, not all at once."""
        rows = await self.store.read(
            f"MATCH (o:_Outbox) {self._by_sent} WHERE o.sent = false AND {condition} "
            "WITH o ORDER BY o.seq LIMIT $n WITH collect(o) AS window "
            "WITH window, reduce(before = [0], o IN window | before + [last(before) + size(o.payloads)]) "
            "AS before UNWIND range(0, size(window) - 1) AS i "
            "WITH window, window[i] AS o WHERE before[i] < $n "
            "OPTIONAL MATCH (s:_OutboxSequence {name: 'events'}) "
            "RETURN o.seq AS seq, o.payloads AS payloads, s.numbering AS numbering, size(window) AS window "
            "ORDER BY seq",
            {**params, "n": self.batch_size},
        )
        if not rows:
            return _Unsent([], None, more=False)
        window = rows[0]["window"]
        return _Unsent(
            [OutboxRecord(row["seq"], tuple(row["payloads"])) for row in rows],
            rows[0]["numbering"],
            more=len(rows) < window or window == self.batch_size,
        )

    @property
    def _by_sent(self) -> str:
        """Unsent records are found through the index on ``sent``. Left to its estimates, Neo4j
        may read them in sequence order through the unique index and skip the sent ones (it
        expects the unsent ones early), which costs every record kept: 100 ms for 100,000,
        every sweep, with the relay's publishing stalled meanwhile."""
        return self.store.dialect.index_hint("o", "_Outbox", "sent")

    async def _take_in_line(self, numbering: str | None, last: int) -> tuple[list[OutboxRecord], bool]:
        """Take the handed-over records numbered on from ``last`` without a gap in the stream's
        ``numbering``: they may go out without reading the outbox. Forget those numbered in
        another numbering, and those starting at or below ``last``; the second value says
        whether the outbox is to be read for them: some were in another numbering, or the
        stream holds other events under their numbers (the sequence went back below the
        stream's last, as when the graph was restored from a backup)."""
        foreign = [first for first, done in self._handed_over.items() if done.numbering != numbering]
        for first in foreign:
            del self._handed_over[first]
        behind = [
            self._handed_over.pop(first).record for first in [f for f in self._handed_over if f <= last]
        ]
        if foreign or len(await self._published_of(behind)) < len(behind):
            return [], True
        run: list[OutboxRecord] = []
        while (handed_over := self._handed_over.pop(run[-1].last + 1 if run else last + 1, None)) is not None:
            run.append(handed_over.record)
        return run, False

    async def _published_of(self, records: list[OutboxRecord]) -> list[OutboxRecord]:
        """Those of ``records`` whose every event the stream holds under its number."""
        if not records:
            return []
        held = await self.stream.held([seq for record in records for seq, _ in record.numbered()])
        return [record for record in records if all(held.get(seq) == p for seq, p in record.numbered())]

    async def _publish(
        self, records: list[OutboxRecord], numbering: str | None, stream: StreamPosition
    ) -> tuple[int, bool]:
        """Append the events of ``records`` (in sequence order, numbered in ``numbering``) to the
        stream and mark them sent; return how many events were new, and whether all records
        were handled.

        Records numbered above the stream's last event (the usual case) go out at once,
        with word that the stream follows the outbox's numbering where it did not. Records
        starting at or below it were published before, by a relay that died or had not
        marked them yet, when the stream holds their events under their numbers: they are
        only marked. A number the stream holds for another event (or no longer holds) means
        the outbox's numbering restarted below the stream's: the unsent records are
        renumbered above it, to be published on the next round."""
        behind = [record for record in records if record.first <= stream.last]
        published = await self._published_of(behind)
        if len(published) < len(behind):
            await self._renumber_unpublished(stream.last)
            return 0, False
        if published:
            await self._mark_sent([record.first for record in published])
        fresh = records[len(behind) :]
        if fresh:
            await self._append_all(fresh, numbering if numbering != stream.numbering else None)
        return _events_in(fresh), True

    async def _append_all(self, records: list[OutboxRecord], numbering: str | None = None) -> None:
        """Append the events of ``records``, numbered above the stream's last (in ``numbering``,
        when the stream is to follow it from now on), a record's events always in one go and
        about ``batch_size`` events at a time; the records are to be marked."""
        for group in _groups_of(records, self.batch_size):
            await self.stream.append_all(
                [event for record in group for event in record.numbered()], numbering=numbering
            )
            numbering = None
            if not self._unmarked:
                self._unmarked_since = time.monotonic()
            self._unmarked += [record.first for record in group]

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

    async def _mark_sent(self, firsts: list[int]) -> None:
        """Mark sent the records numbered from ``firsts`` on."""
        await self.store.write(
            "MATCH (o:_Outbox) WHERE o.seq IN $firsts SET o.sent = true, o.sentAt = $now",
            {"firsts": firsts, "now": now_millis()},
        )

    async def _renumber_unpublished(self, last_seq: int) -> None:
        """Mark sent the unsent records starting at or below ``last_seq`` whose events the stream
        holds under their numbers (published by a relay that has yet to mark them); number the
        others (never published, so nobody has seen their numbers) on from above both
        ``last_seq`` and the sequence, in their order, in a new numbering, and move the
        sequence past them.

        The stream follows the new numbering first, so that no relay takes a record handed
        over under its old number for the next in line, even when this one dies before the
        store's write. Taking the sequence node first makes concurrent mutations wait, so no
        number is handed out twice; a relay that comes second finds no unsent record at or
        below ``last_seq`` any more and leaves the numbers alone."""
        await self._mark_published_up_to(last_seq)
        numbering = new_numbering()
        await self.stream.follow(numbering)
        await self.store.write(
            "MATCH (s:_OutboxSequence {name: 'events'}) SET s.value = s.value, s.numbering = $numbering "
            f"WITH s MATCH (o:_Outbox) {self._by_sent} WHERE o.sent = false "
            "WITH s, o ORDER BY o.seq WITH s, collect(o) AS pending "
            "WHERE pending[0].seq <= $last "
            "WITH s, pending, CASE WHEN s.value > $last THEN s.value ELSE $last END AS base, "
            "reduce(offsets = [0], o IN pending | offsets + [last(offsets) + size(o.payloads)]) AS offsets "
            "SET s.value = base + last(offsets) "
            "WITH pending, base, offsets UNWIND range(0, size(pending) - 1) AS i "
            "WITH pending[i] AS o, base + 1 + offsets[i] AS first SET o.seq = first",
            {"last": last_seq, "numbering": numbering},
        )
        log.warning(
            "event relay: the outbox sequence restarted below the stream; renumbered after %d", last_seq
        )

    async def _mark_published_up_to(self, last_seq: int) -> None:
        """Mark sent every unsent record starting at or below ``last_seq`` whose events the stream
        holds under their numbers."""
        after = 0
        while records := (
            await self._read_unsent("o.seq > $after AND o.seq <= $last", {"after": after, "last": last_seq})
        ).records:
            published = await self._published_of(records)
            if published:
                await self._mark_sent([record.first for record in published])
            after = records[-1].first

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


@dataclass(frozen=True, slots=True)
class _Unsent:
    """Unsent records read from the outbox, its numbering, and whether more may be waiting."""

    records: list[OutboxRecord]
    numbering: str | None
    more: bool


def _events_in(records: list[OutboxRecord]) -> int:
    return sum(len(record.payloads) for record in records)


def _groups_of(records: list[OutboxRecord], events: int) -> list[list[OutboxRecord]]:
    """``records`` in order, in groups of about ``events`` events: a group is closed once it holds
    that many, so a record bigger than that makes a group of its own."""
    groups: list[list[OutboxRecord]] = [[]]
    held = 0
    for record in records:
        if held >= events:
            groups.append([])
            held = 0
        groups[-1].append(record)
        held += len(record.payloads)
    return groups if groups[0] else []
