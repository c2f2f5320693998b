"""The network commands end to end on each backend: `rapport influence` writes every customer's
influence and lists the top ten; `rapport segments` keeps community segments up to date; the
server does both on a schedule when their intervals are set."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from rapport.app import create_app
from rapport.demo.seed import seed_demo
from rapport.graph.types import GraphStore
from tests.conftest import settings_for, store_environment
from tests.http_server import serving
from tests.test_cli import run


@pytest.fixture
async def demo(store: GraphStore) -> GraphStore:
    await seed_demo(store, 60, seed=9)
    return store


async def test_influence_is_written_to_every_customer_and_the_top_ten_listed(demo: GraphStore) -> None:
    result = run("influence", env=store_environment(demo))
    assert result.returncode == 0, result.stderr
    counts = (await demo.read("MATCH (c:Customer) RETURN count(c) AS n, count(c.influence) AS scored"))[0]
    assert counts["n"] == counts["scored"] == 60
    assert f"influence of 60 customers written on {demo.backend}" in result.stdout
    top = await demo.read("MATCH (c:Customer) RETURN c.id AS id ORDER BY c.influence DESC, id LIMIT 10")
    listed = [line.split("|")[1].strip() for line in result.stdout.splitlines() if line.startswith("| 0")]
    assert listed == [row["id"] for row in top]


async def test_segments_are_created_then_kept_on_a_rerun(demo: GraphStore) -> None:
    env = store_environment(demo)
    first = run("segments", "--seed", "4", env=env)
    assert first.returncode == 0, first.stderr
    created = (await demo.read("MATCH (s:Segment) WHERE s.rule STARTS WITH 'louvain' RETURN count(s) AS n"))[
        0
    ]["n"]
    assert created > 0 and f"segments on {demo.backend}: {created} created, 0 kept, 0 retired" in first.stdout
    again = run("segments", "--seed", "4", env=env)
    assert f"0 created, {created} kept, 0 retired; 0 memberships joined, 0 left" in again.stdout


async def test_the_server_refreshes_influence_and_segments_when_intervals_are_set(
    demo: GraphStore, tmp_path: Path
) -> None:
    settings = settings_for(demo.backend, tmp_path).model_copy(
        update={
            "influence_interval": 3600,
            "segments_interval": 3600,
            "jwt_secret": SecretStr("network-tests-signing-secret-of-32-chars"),
        }
    )
    done = "MATCH (c:Customer) WHERE c.influence IS NOT NULL RETURN count(c) AS n"
    segments = "MATCH (s:Segment) WHERE s.rule STARTS WITH 'louvain' RETURN count(s) AS n"
    async with serving(create_app(settings, store=demo)):
        for _ in range(400):
            if (await demo.read(done))[0]["n"] == 60 and (await demo.read(segments))[0]["n"] > 0:
                break
            await asyncio.sleep(0.05)
    assert (await demo.read(done))[0]["n"] == 60
    assert (await demo.read(segments))[0]["n"] > 0
