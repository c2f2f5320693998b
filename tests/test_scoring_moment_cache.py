"""One scoring run builds what a moment needs once for all its targets; nothing outlives the run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from rapport.scoring.moment_cache import once_per_moment, shared_by_moment


async def test_inside_a_run_each_thing_of_a_moment_is_built_once() -> None:
    built: list[tuple[str, int]] = []

    def builder(what: str, moment: int) -> Callable[[], Awaitable[str]]:
        async def build() -> str:
            built.append((what, moment))
            return f"{what}@{moment}"

        return build

    with shared_by_moment():
        first = await once_per_moment("network", 5, builder("network", 5))
        again = await once_per_moment("network", 5, builder("network", 5))
        await once_per_moment("network", 6, builder("network", 6))
        await once_per_moment("embeddings", 5, builder("embeddings", 5))
    assert first == again == "network@5"
    assert built == [("network", 5), ("network", 6), ("embeddings", 5)]
    await once_per_moment("network", 5, builder("network", 5))
    await once_per_moment("network", 5, builder("network", 5))
    assert built[3:] == [("network", 5), ("network", 5)]  # outside a run, nothing is kept


async def test_two_sources_asking_at_once_share_one_build() -> None:
    builds = 0

    async def build() -> int:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.01)  # the second caller arrives while this build is under way
        return builds

    with shared_by_moment():
        results = await asyncio.gather(*(once_per_moment("network", 5, build) for _ in range(3)))
    assert results == [1, 1, 1]
    assert builds == 1
