"""Open the store the settings ask for: Neo4j, a FalkorDB server, or the embedded default."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

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


@contextmanager
def shared_embedded_database(settings: Settings, workers: int) -> Iterator[dict[str, str]]:
    """Start the embedded database for several API workers; yield the environment that points them to it.

    One worker opens the embedded database itself. Several cannot (its data
    directory admits one owner), so this process owns it and the workers
    connect to it as a FalkorDB server. With Neo4j or a configured FalkorDB
    server there is nothing to start.
    """
    if workers == 1 or settings.neo4j_uri or settings.falkordb_url:
        yield {}
        return
    embedded = EmbeddedFalkorDB(settings.data_dir, fsync=settings.embedded_fsync)
    embedded.start()
    try:
        yield {"RAPPORT_FALKORDB_URL": embedded.url}
    finally:
        embedded.stop()


def event_stream_url(settings: Settings, store: GraphStore) -> str | None:
    """The Redis holding the event stream: the configured one, else the FalkorDB server itself."""
    if settings.redis_url:
        return settings.redis_url
    if settings.falkordb_url:
        return settings.falkordb_url
    if isinstance(store, FalkorDBStore) and store.embedded is not None:
        return store.embedded.url
    return None
