"""What one scoring run computes per moment and shares between its targets.

Scoring churn, deals and leads as of the same moment needs the same network
(:mod:`~rapport.scoring.network_features`) and the same embeddings
(:mod:`~rapport.scoring.lookalike_features`); inside :func:`shared_by_moment`
each is built once. Outside it nothing is kept: a later run sees later data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["once_per_moment", "shared_by_moment"]

T = TypeVar("T")

_SHARED: ContextVar[dict[tuple[str, int], Any] | None] = ContextVar("shared_by_moment", default=None)


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
    if shared is not None and (what, moment) in shared:
        result: T = shared[what, moment]
        return result
    built = await build()
    if shared is not None:
        shared[what, moment] = built
    return built
