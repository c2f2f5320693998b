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

from rapport.events.stream import EventStream, StreamUnavailable
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
            done = []
            try:
                for row in rows:
                    published += await self.stream.append(row["seq"], row["payload"])
                    done.append(row["seq"])
            finally:
                if done:
                    await self.store.write(
                        "MATCH (o:_Outbox) WHERE o.seq IN $seqs SET o.sent = true, o.sentAt = $now",
                        {"seqs": done, "now": now_millis()},
                    )
            if len(rows) < self.batch_size:
                return published

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
