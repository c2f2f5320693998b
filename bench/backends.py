"""The backends the benchmarks run on, and the settings that select each."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rapport.config import Settings
from rapport.graph.connect import store_session

BACKENDS = ("falkordb", "neo4j")


def settings_for(backend: str, data_dir: Path) -> Settings:
    """An embedded FalkorDB in ``data_dir``, or the Neo4j named by ``RAPPORT_NEO4J_URI``/``_USER``/
    ``_PASSWORD`` (the benchmark stops, saying so, when none is)."""
    if backend == "neo4j":
        if not os.environ.get("RAPPORT_NEO4J_URI"):
            sys.exit("bench: set RAPPORT_NEO4J_URI/_USER/_PASSWORD for the neo4j backend")
        return Settings(data_dir=data_dir)
    return Settings(data_dir=data_dir, neo4j_uri=None, falkordb_url=None)


async def neo4j_memory(data_dir: Path) -> str:
    """The Neo4j server's heap and page cache sizes, as its settings say them."""
    async with store_session(settings_for("neo4j", data_dir)) as store:
        rows = await store.read(
            "SHOW SETTINGS YIELD name, value "
            "WHERE name IN ['server.memory.heap.max_size', 'server.memory.pagecache.size'] "
            "RETURN name, value ORDER BY name"
        )
    return ", ".join(f"{row['name']}={row['value']}" for row in rows)
