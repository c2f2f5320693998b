"""Fixtures: every store-level test runs against each real backend.

- ``falkordb``: the embedded FalkorDB, started by Rapport in a temporary data
  directory for the test session.
- ``neo4j``: a real Neo4j 5 server named by ``RAPPORT_TEST_NEO4J_URI`` /
  ``_USER`` / ``_PASSWORD`` (``scripts/neo4j-server start`` provides one). It
  is skipped with a reason when not configured, unless
  ``RAPPORT_TEST_REQUIRE_NEO4J=1`` (as in CI) turns that into a failure.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from rapport.app import create_app
from rapport.config import Settings
from rapport.demo.seed import seed_demo
from rapport.graph.connect import open_store
from rapport.graph.embedded import EmbeddedFalkorDB
from rapport.graph.falkordb_store import FalkorDBStore
from rapport.graph.types import GraphStore
from tests.api_client import ApiClient
from tests.http_server import serving

if TYPE_CHECKING:
    from tests.live_api import LiveApi

BACKENDS = ("falkordb", "neo4j")


def store_environment(store: GraphStore) -> dict[str, str]:
    """The ``RAPPORT_*`` variables that point a ``rapport`` process at the test's store, on either backend."""
    if isinstance(store, FalkorDBStore) and store.embedded is not None:
        return {"RAPPORT_FALKORDB_URL": store.embedded.url}
    configured = neo4j_settings()
    assert configured is not None
    return {f"RAPPORT_{k.upper()}": v for k, v in configured.items()}


def process_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its ``RAPPORT_*`` settings, plus ``variables``: what a
    ``rapport`` child process gets, so that nothing of the developer's own configuration leaks in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")} | dict(variables)


def neo4j_settings() -> dict[str, str] | None:
    """Connection settings of the test Neo4j, or ``None`` when none is configured."""
    uri = os.environ.get("RAPPORT_TEST_NEO4J_URI")
    if not uri:
        if os.environ.get("RAPPORT_TEST_REQUIRE_NEO4J") == "1":
            pytest.fail("RAPPORT_TEST_NEO4J_URI is not set but RAPPORT_TEST_REQUIRE_NEO4J=1")
        return None
    return {
        "neo4j_uri": uri,
        "neo4j_user": os.environ.get("RAPPORT_TEST_NEO4J_USER", "neo4j"),
        "neo4j_password": os.environ.get("RAPPORT_TEST_NEO4J_PASSWORD", ""),
    }


def settings_for(backend: str, data_dir: Path) -> Settings:
    """Settings that open ``backend``; the embedded one keeps its files in ``data_dir``."""
    if backend == "neo4j":
        configured = neo4j_settings()
        if configured is None:
            pytest.skip(
                "Neo4j not configured: run scripts/neo4j-server start and export "
                "RAPPORT_TEST_NEO4J_URI/_USER/_PASSWORD"
            )
        return Settings(data_dir=data_dir, **configured)  # type: ignore[arg-type]
    return Settings(data_dir=data_dir, neo4j_uri=None, falkordb_url=None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``neo4j_only`` / ``embedded_only`` are skipped, with the marker's reason,
    where they run on the other backend."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("session_store") if callspec else None
        for marker, only in (("neo4j_only", "neo4j"), ("embedded_only", "falkordb")):
            mark = item.get_closest_marker(marker)
            if mark is not None and backend not in (None, only):
                why = mark.args[0] if mark.args else f"runs on {only} only"
                item.add_marker(pytest.mark.skip(reason=f"{marker}: {why}"))


@pytest_asyncio.fixture(scope="session", params=BACKENDS)
async def session_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GraphStore]:
    store = await open_store(settings_for(request.param, tmp_path_factory.mktemp("embedded")))
    yield store
    await store.close()


@pytest_asyncio.fixture
async def store(session_store: GraphStore) -> AsyncIterator[GraphStore]:
    """A real store of each backend, emptied (data, indexes, constraints) before the test."""
    await session_store.clear()
    yield session_store


async def open_second_connection(store: GraphStore, tmp_path: Path) -> GraphStore:
    """Another, independent connection to the same database as ``store``."""
    if isinstance(store, FalkorDBStore) and store.embedded is not None:
        return await open_store(Settings(data_dir=tmp_path, falkordb_url=store.embedded.url))
    return await open_store(settings_for(store.backend, tmp_path))


DEMO_CUSTOMERS = 100
"""Size of the demo graph API tests read (seeded once per test module and backend)."""


@pytest_asyncio.fixture(scope="module")
async def demo_store(session_store: GraphStore) -> GraphStore:
    """A store of each backend holding the migrated demo graph of ``DEMO_CUSTOMERS`` customers.

    Tests using it may add records but must not change or delete demo records.
    """
    await session_store.clear()
    await seed_demo(session_store, DEMO_CUSTOMERS, seed=7)
    return session_store


@pytest_asyncio.fixture(scope="module")
async def api(demo_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiClient]:
    """The Rapport application served over real HTTP on ``demo_store``."""
    settings = settings_for(demo_store.backend, tmp_path_factory.mktemp("api"))
    settings = settings.model_copy(update={"jwt_secret": SecretStr("api-tests-signing-secret-of-32-chars+")})
    async with (
        serving(create_app(settings, store=demo_store)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        yield ApiClient(http, demo_store, settings)


@pytest.fixture(scope="module")
def redis_url(session_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server (the bundled redis-server) for the event stream, one per backend: each
    store numbers its events from 1, and a stream accepts each number once."""
    server = EmbeddedFalkorDB(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest_asyncio.fixture(scope="module")
async def live(
    demo_store: GraphStore, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveApi]:
    """A live server on the demo graph with its event stream, for subscription tests."""
    from tests.live_api import live_api  # imports this module's settings_for

    async with live_api(demo_store, redis_url, tmp_path_factory.mktemp("live")) as api:
        yield api
