"""The backends the benchmarks run on, and the settings that select each."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rapport.config import Settings

BACKENDS = ("falkordb", "neo4j")


def settings_for(backend: str, data_dir: Path) -> Settings:
    """An embedded FalkorDB in ``data_dir``, or the Neo4j named by ``RAPPORT_NEO4J_URI``/``_USER``/
    ``_PASSWORD`` (the benchmark stops, saying so, when none is)."""
    if backend == "neo4j":
        if not os.environ.get("RAPPORT_NEO4J_URI"):
            sys.exit("bench: set RAPPORT_NEO4J_URI/_USER/_PASSWORD for the neo4j backend")
        return Settings(data_dir=data_dir)
    return Settings(data_dir=data_dir, neo4j_uri=None, falkordb_url=None)
