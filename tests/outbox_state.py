"""What the outbox holds unsent, for tests that wait for a relay to mark what it published."""

from __future__ import annotations

import asyncio

import pytest

from rapport.graph.types import GraphStore


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
