"""A server process learns from the event stream that custom fields were declared or dropped.

Declarations are made by ``rapport fields declare`` (another process) or by
any worker; each records a ``_CustomField`` change event. The watch looks at
every event as the process's hub reads it (it never queues any, so it never
falls behind) and runs the reload once the events it saw name a declaration;
declarations made while a reload runs make one more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from rapport.background import running
from rapport.events.hub import EventHub, StreamEvent, SubscriberTooSlow
from rapport.schema.custom_fields import CUSTOM_FIELD_LABEL

log = logging.getLogger(__name__)


async def follow_custom_fields(hub: EventHub, reload: Callable[[], Awaitable[None]]) -> None:
    """Run ``reload`` after custom fields were declared or dropped, until cancelled; a reload
    that fails is logged, and the process keeps the fields it had until the next declaration."""
    declared = asyncio.Event()

    def see(events: list[StreamEvent]) -> bool:
        if any(event.payload["label"] == CUSTOM_FIELD_LABEL for event in events):
            declared.set()
        return True  # handled: nothing waits in the watch's queue

    async def listen() -> None:
        while True:
            try:
                async for events in hub.batches(direct=see):  # the few that see could not take at once
                    see(events)
            except SubscriberTooSlow:  # it missed events, perhaps a declaration: reload to be sure
                declared.set()

    async with running(listen(), "rapport-custom-field-listener"):
        while True:
            await declared.wait()
            declared.clear()
            try:
                await reload()
            except Exception:  # the API keeps working with the fields it had
                log.exception("custom fields: reloading the API failed")
