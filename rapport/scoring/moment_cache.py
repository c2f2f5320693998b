"""What one scoring run computes per moment and shares between its targets.

Scoring churn, deals and leads as of the same moment needs the same network
(:mod:`~rapport.scoring.network_features`) and the same embeddings
(:mod:`~rapport.scoring.lookalike_features`); inside :func:`shared_by_moment`
each is built once, also when two feature sources running side by side ask for
it at the same time (the second waits for the first's build). Outside it
nothing is kept: a later run sees later data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["once_per_moment", "shared_by_moment"]

T = TypeVar("T")


@dataclass
class _Slot:
    """One ``(what, moment)``: what its build gave, once ``done``; the lock its build holds."""

    building: asyncio.Lock = field(default_factory=asyncio.Lock)
    done: bool = False
    value: Any = None


_SHARED: ContextVar[dict[tuple[str, int], _Slot] | None] = ContextVar("shared_by_moment", default=None)


@contextmanager
def shared_by_moment() -> Iterator[None]:
    """Within this block, :func:`once_per_moment` builds each ``(what, moment)`` once."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


async def once_per_moment(what: str, moment: int, build: Callable[[], Awaitable[T]]) -> T:
    """``build()``, or what it gave for ``(what, moment)`` earlier in the same :func:`shared_by_moment`."""
    shared = _SHARED.get()
    if shared is None:
        return await build()
    slot = shared.setdefault((what, moment), _Slot())
    async with slot.building:
        if not slot.done:
            slot.value, slot.done = await build(), True
    result: T = slot.value
    return result
