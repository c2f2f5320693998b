"""The relay: publishes committed outbox records to the event stream, in sequence order.

It runs as one task per server process: woken right after each mutation
commits, and on a timer so that records left by a crashed process (committed,
never published) go out too. Records are marked sent only after Redis holds
them; a crash in between means they are published again, which the stream
turns into a no-op. A record that fails to publish stops the batch, so no
later event ever overtakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from rapport.events.stream import EventStream, SequenceBehindStream, StreamUnavailable
from rapport.graph.errors import StoreError
from rapport.graph.types import GraphStore
from rapport.graph.values import now_millis

log = logging.getLogger(__name__)


@dataclass
class OutboxRelay:
    store: GraphStore
    stream: EventStream
    batch_size: int = 500
    interval: float = 1.0  # seconds between sweeps when nothing wakes the relay
    retention_ms: int = 24 * 3600 * 1000  # sent outbox records are pruned after this long
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        """Publish soon: something was just committed."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish every unsent record, oldest first; return how many were newly published."""
        published = 0
        while True:
            rows = await self.store.read(
                "MATCH (o:_Outbox) WHERE o.sent = false RETURN o.seq AS seq, o.payload AS payload "
                "ORDER BY seq LIMIT $n",
                {"n": self.batch_size},
            )
            if not rows:
                return published
            done, behind = [], None
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
                    await self.store.write(
                        "MATCH (o:_Outbox) WHERE o.seq IN $seqs SET o.sent = true, o.sentAt = $now",
                        {"seqs": done, "now": now_millis()},
                    )
            if behind is not None:
                await self._renumber_unsent_after(behind.last_seq)
                continue
            if len(rows) < self.batch_size:
                return published

    async def _renumber_unsent_after(self, last_seq: int) -> None:
        """Number the unsent records (never published, so nobody has seen their numbers) on from
        ``last_seq``, in their order, and move the sequence past them; taking the sequence node
        first makes concurrent mutations wait, so no number is handed out twice."""
        await self.store.write(
            "MATCH (s:_OutboxSequence {name: 'events'}) SET s.value = s.value "
            "WITH s MATCH (o:_Outbox) WHERE o.sent = false "
            "WITH s, o ORDER BY o.seq WITH s, collect(o) AS pending "
            "SET s.value = $last + size(pending) "
            "WITH pending UNWIND range(0, size(pending) - 1) AS i "
            "WITH pending[i] AS o, i SET o.seq = $last + 1 + i",
            {"last": last_seq},
        )
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
                await self.publish_pending()
                sweeps += 1
                if sweeps % 600 == 1:
                    await self.prune()
            except (StreamUnavailable, StoreError) as error:
                log.warning("event relay: %s; retrying", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
