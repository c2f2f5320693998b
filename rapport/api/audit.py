"""The audit trail of analysts' Cypher queries: one JSON line per query, appended to a file.

Why a file and not ``_CypherAudit`` nodes in the graph:

- the audited cannot read it: analysts query the graph, so entries stored
  there would show every colleague's statements to them;
- it survives what happens to the graph (``rapport seed --reset``, a restore,
  a failed or timed-out database) and adds no write load to the database;
- JSON lines is what log shippers and SIEMs ingest as they are, and the file
  is opened for each entry, so ``logrotate`` can move it away at any time.

Entries are appended with ``O_APPEND`` in a single write each, so processes
sharing the file (several API workers) never interleave within a line. The
file is created with mode 0600. Parameter values are never written, only
their names: values are where personal data travels.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from rapport.config import Settings


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One query: who ran what, how it went."""

    subject: str
    role: str
    client: str | None  # the peer address of the request
    database: str
    statement: str | None  # None when the request carried no readable statement
    parameters: Sequence[str]  # names only
    rows: int
    truncated: bool
    ms: float
    outcome: str  # "ok", or the status code of the error answered


class CypherAuditLog:
    """Appends :class:`AuditEntry` lines to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_settings(cls, settings: Settings) -> CypherAuditLog:
        """The trail at ``RAPPORT_CYPHER_AUDIT_FILE``, by default ``data_dir/audit/cypher.jsonl``."""
        return cls(settings.cypher_audit_file or settings.data_dir / "audit" / "cypher.jsonl")

    async def record(self, entry: AuditEntry) -> None:
        """Append ``entry`` with the time (``at``, ISO 8601 UTC); ``OSError`` if it cannot be written."""
        stamped = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), **asdict(entry)}
        await asyncio.to_thread(self._append, orjson.dumps(stamped) + b"\n")

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)
