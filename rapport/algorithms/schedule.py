"""Recurring jobs of the server process: at most one run per interval across all processes.

Every API worker runs the same background task; a ``_Job`` node in the graph
decides which of them runs the job and when. A worker takes the job when no
lease on it is live and the last successful run started at least an interval
ago; the lease expires, so a worker that dies mid-run does not block the job
for longer than ``lease_s``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from rapport.background import running
from rapport.graph.types import GraphStore
from rapport.graph.values import now_millis

__all__ = ["recurring", "run_if_due"]

log = logging.getLogger(__name__)

# MERGE then SET first: the SET takes the node's write lock (Neo4j) before the condition is read.
_ACQUIRE = """
MERGE (j:_Job {name: $name})
SET j.touchedAt = $now
WITH j
WHERE (j.holder IS NULL OR j.expiresAt < $now) AND coalesce(j.lastRunAt, 0) <= $now - $everyMs
SET j.holder = $me, j.expiresAt = $now + $leaseMs
RETURN j.holder AS holder
"""
_RELEASE = """
MATCH (j:_Job {name: $name}) WHERE j.holder = $me
SET j.holder = null, j.expiresAt = null,
    j.lastRunAt = CASE WHEN $ok THEN $started ELSE j.lastRunAt END
"""


async def run_if_due(
    store: GraphStore, name: str, every_s: float, job: Callable[[], Awaitable[object]], *, lease_s: float
) -> bool:
    """Run ``job`` unless another process holds it or it ran less than ``every_s`` ago; say whether it ran.

    A failing job is logged and tried again at the next attempt.
    """
    me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"  # this attempt
    started = now_millis()
    params = {"name": name, "me": me, "now": started}
    rows = await store.write(
        _ACQUIRE, {**params, "everyMs": int(every_s * 1000), "leaseMs": int(lease_s * 1000)}
    )
    if not rows:
        return False
    ok = False
    try:
        result = await job()
        ok = True
        log.info("job %s: %s", name, result)
    except Exception:  # a failed run must not end the schedule
        log.exception("job %s failed", name)
    finally:
        await store.write(_RELEASE, {**params, "ok": ok, "started": started})
    return True


@asynccontextmanager
async def recurring(
    store: GraphStore,
    name: str,
    every_s: float,
    job: Callable[[], Awaitable[object]],
    *,
    lease_s: float = 3_600.0,
) -> AsyncIterator[None]:
    """While the block runs, try ``job`` now and then every ``every_s`` seconds (0: never).

    The task is cancelled, and awaited, when the block ends.
    """
    if every_s <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            try:
                await run_if_due(store, name, every_s, job, lease_s=lease_s)
            except Exception:  # the store is unreachable: try again at the next tick
                log.exception("job %s: could not reach the store", name)
            await asyncio.sleep(every_s)

    async with running(loop(), f"rapport-job-{name}"):
        yield
