"""Open the store the settings ask for: Neo4j, a FalkorDB server, or the embedded default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rapport.config import Settings
from rapport.graph.embedded import EmbeddedFalkorDB
from rapport.graph.falkordb_store import FalkorDBStore
from rapport.graph.neo4j_store import Neo4jStore
from rapport.graph.types import GraphStore


async def open_store(settings: Settings) -> GraphStore:
    """Connect to the configured backend; the caller must ``close()`` it.

    Raises :class:`~rapport.graph.errors.StoreUnavailable` or
    :class:`~rapport.graph.errors.StoreConfigError` with a readable message.
    """
    if settings.neo4j_uri:
        return await Neo4jStore.connect(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password.get_secret_value(),
            settings.neo4j_database,
            default_timeout=settings.query_timeout,
        )
    if settings.falkordb_url:
        return await FalkorDBStore.connect(
            settings.falkordb_url, settings.graph_name, default_timeout=settings.query_timeout
        )
    embedded = EmbeddedFalkorDB(settings.data_dir, fsync=settings.embedded_fsync)
    # Started from this (the event loop's) thread on purpose: the kernel's
    # parent-death signal is tied to the thread that forked the child.
    embedded.start()
    try:
        return await FalkorDBStore.connect(
            embedded.url,
            settings.graph_name,
            default_timeout=settings.query_timeout,
            embedded=embedded,
        )
    except BaseException:
        embedded.stop()
        raise


@asynccontextmanager
async def store_session(settings: Settings) -> AsyncIterator[GraphStore]:
    """``async with store_session(settings) as store:`` opens and always closes the store."""
    store = await open_store(settings)
    try:
        yield store
    finally:
        await store.close()
