"""What the outbox holds: the events recorded, and how many the relay has yet to mark sent."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from rapport.graph.types import GraphStore


async def recorded_events(store: GraphStore, after: int = 0) -> list[dict[str, Any]]:
    """The events recorded with a number above ``after``, in order: each payload with its
    ``seq`` and whether it was ``sent``."""
    rows = await store.read(
        "MATCH (o:_Outbox) WHERE o.seq > $after RETURN o.seq AS seq, o.payload AS payload, o.sent AS sent "
        "ORDER BY seq",
        {"after": after},
    )
    return [{"seq": r["seq"], "sent": r["sent"], **orjson.loads(r["payload"])} for r in rows]


async def unsent(store: GraphStore) -> int:
    """How many outbox records the relay has not marked sent."""
    rows = await store.read("MATCH (o:_Outbox) WHERE o.sent = false RETURN count(o) AS n")
    return int(rows[0]["n"])


async def until_all_sent(store: GraphStore) -> None:
    """Wait until the relay has marked every outbox record sent: it publishes an event first, so a
    subscriber may have it a moment before it is marked."""
    for _ in range(200):
        if await unsent(store) == 0:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{await unsent(store)} outbox records still unsent")
