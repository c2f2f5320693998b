"""Apply migrations in order, once, under a lock held in the graph.

Each applied migration is recorded as a ``_Migration`` node with its version,
checksum and time. A lease on a ``_MigrationLock`` node keeps two processes
from applying the same file; the lease expires, so a crashed migrator does not
block the next one forever.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from rapport.graph.errors import ConstraintViolation, QueryError
from rapport.graph.types import GraphStore
from rapport.graph.values import now_millis
from rapport.migrations.files import Migration, MigrationError, discover

_BOOTSTRAP = (
    "CREATE CONSTRAINT rapport_migration_version IF NOT EXISTS "
    "FOR (m:_Migration) REQUIRE m.version IS UNIQUE",
    "CREATE CONSTRAINT rapport_migration_lock IF NOT EXISTS FOR (l:_MigrationLock) REQUIRE l.name IS UNIQUE",
)
_DDL = re.compile(
    r"^\s*(CREATE|DROP)\s+((RANGE|TEXT|POINT|FULLTEXT|VECTOR|LOOKUP)\s+)?(CONSTRAINT|INDEX)\b",
    re.IGNORECASE,
)
_ACQUIRE = """
MERGE (l:_MigrationLock {name: 'migrations'})
SET l.touchedAt = $now
WITH l
WHERE l.holder IS NULL OR l.holder = $me OR l.expiresAt < $now
SET l.holder = $me, l.expiresAt = $now + $lease_ms
RETURN l.holder AS holder
"""
_RELEASE = """
MATCH (l:_MigrationLock {name: 'migrations'}) WHERE l.holder = $me
SET l.holder = null, l.expiresAt = null
"""
_APPLIED = """
MATCH (m:_Migration)
RETURN m.version AS version, m.description AS description, m.checksum AS checksum,
       m.appliedAt AS appliedAt
ORDER BY version
"""
_RECORD = """
CREATE (m:_Migration {version: $version, description: $description, checksum: $checksum,
                      appliedAt: $appliedAt, executionMs: $executionMs})
"""

State = Literal["applied", "pending", "changed", "missing"]


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Where one migration stands in this graph."""

    version: int
    description: str
    state: State
    applied_at: int | None


def is_schema_statement(statement: str) -> bool:
    """Index and constraint DDL runs outside data transactions, through the dialect."""
    return bool(_DDL.match(statement))


class MigrationRunner:
    """Applies pending migrations to one store."""

    def __init__(
        self,
        store: GraphStore,
        migrations: Sequence[Migration] | None = None,
        *,
        lock_timeout: float = 120.0,
        lease_seconds: float = 900.0,
    ) -> None:
        self._store = store
        self._migrations = list(discover() if migrations is None else migrations)
        self._lock_timeout = lock_timeout
        self._lease_ms = int(lease_seconds * 1000)
        self._me = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"

    async def status(self) -> list[MigrationStatus]:
        """Applied, pending, changed (checksum differs) and missing (not on disk) migrations."""
        applied = {row["version"]: row for row in await self._store.read(_APPLIED)}
        result = []
        for m in self._migrations:
            row = applied.pop(m.version, None)
            if row is None:
                result.append(MigrationStatus(m.version, m.description, "pending", None))
            else:
                state: State = "applied" if row["checksum"] == m.checksum else "changed"
                result.append(MigrationStatus(m.version, m.description, state, row["appliedAt"]))
        result.extend(
            MigrationStatus(v, row["description"], "missing", row["appliedAt"])
            for v, row in sorted(applied.items())
        )
        return result

    async def pending(self) -> list[Migration]:
        """Migrations not yet applied; refuses if an applied file has changed."""
        states = {s.version: s.state for s in await self.status()}
        changed = [m for m in self._migrations if states.get(m.version) == "changed"]
        if changed:
            raise MigrationError(
                f"{changed[0].file_name} was changed after it was applied (checksum differs); "
                "restore it and put the change in a new migration"
            )
        return [m for m in self._migrations if states.get(m.version) == "pending"]

    async def migrate(self, *, through: int | None = None) -> list[Migration]:
        """Apply every pending migration in order (those up to version ``through``, when
        given); return those applied by this call.

        Consecutive migrations of schema statements only are applied together, so a
        store can build the indexes of one label in one pass; each is recorded once
        all of them are built. Data migrations are applied and recorded one by one.
        """
        await self._bootstrap()
        await self._acquire()
        try:
            pending = [m for m in await self.pending() if through is None or m.version <= through]
            for group in _apply_groups(pending):
                await self._apply(group)
            return pending
        finally:
            await self._store.write(_RELEASE, {"me": self._me})

    async def _bootstrap(self) -> None:
        for statement in _BOOTSTRAP:
            for attempt in range(3):
                try:
                    await self._store.run_schema(statement)
                    break
                except QueryError:
                    # Another migrator may be creating the same constraint right now.
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.2)

    async def _acquire(self) -> None:
        deadline = time.monotonic() + self._lock_timeout
        while True:
            try:
                rows = await self._store.write(
                    _ACQUIRE, {"me": self._me, "now": now_millis(), "lease_ms": self._lease_ms}
                )
            except ConstraintViolation:
                rows = []  # two first-time MERGEs raced; the loser simply tries again
            if rows and rows[0]["holder"] == self._me:
                return
            if time.monotonic() > deadline:
                raise MigrationError(
                    f"another process holds the migration lock; gave up after {self._lock_timeout:.0f}s"
                )
            await asyncio.sleep(0.25)

    async def _apply(self, group: list[Migration]) -> None:
        started = time.monotonic()
        schema: list[str] = []
        try:
            for statement in (s for migration in group for s in migration.statements):
                if is_schema_statement(statement):
                    schema.append(statement)
                    continue
                if schema:
                    await self._store.run_schema(*schema)
                    schema = []
                await self._store.write(statement)
            if schema:
                await self._store.run_schema(*schema)
        except QueryError as error:
            names = ", ".join(migration.file_name for migration in group)
            raise MigrationError(f"{names} failed: {error}") from error
        for migration in group:
            await self._store.write(
                _RECORD,
                {
                    "version": migration.version,
                    "description": migration.description,
                    "checksum": migration.checksum,
                    "appliedAt": now_millis(),
                    "executionMs": int((time.monotonic() - started) * 1000),
                },
            )
        # Keep the lease alive across long migration runs.
        await self._store.write(_ACQUIRE, {"me": self._me, "now": now_millis(), "lease_ms": self._lease_ms})


def _apply_groups(migrations: list[Migration]) -> Iterator[list[Migration]]:
    """Runs of consecutive schema-only migrations, and each data migration on its own."""
    run: list[Migration] = []
    for migration in migrations:
        if all(is_schema_statement(s) for s in migration.statements):
            run.append(migration)
            continue
        if run:
            yield run
            run = []
        yield [migration]
    if run:
        yield run
