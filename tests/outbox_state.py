"""What the outbox holds: the events recorded, and how many the relay has yet to mark sent."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from rapport.graph.types import GraphStore


async def recorded_events(store: GraphStore, after: int = 0) -> list[dict[str, Any]]:
    """The events recorded with a number above ``after``, in order: each payload with its
    ``seq`` and whether its record was ``sent``."""
    rows = await store.read(
        "MATCH (o:_Outbox) WHERE o.seq + size(o.payloads) > $after + 1 "
        "RETURN o.seq AS first, o.payloads AS payloads, o.sent AS sent ORDER BY first",
        {"after": after},
    )
    events = [
        {"seq": r["first"] + i, "sent": r["sent"], **orjson.loads(payload)}
        for r in rows
        for i, payload in enumerate(r["payloads"])
    ]
    return [event for event in events if event["seq"] > after]


async def unsent(store: GraphStore) -> int:
    """How many recorded events the relay has not marked sent."""
    rows = await store.read("MATCH (o:_Outbox) WHERE o.sent = false RETURN sum(size(o.payloads)) AS n")
    return int(rows[0]["n"] or 0)


async def until_all_sent(store: GraphStore) -> None:
    """Wait until the relay has marked every outbox record sent: it publishes an event first, so a
    subscriber may have it a moment before it is marked."""
    for _ in range(200):
        if await unsent(store) == 0:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{await unsent(store)} recorded events still unsent")
