"""Migrations: applied in order, once, recorded with checksums, safe to run concurrently."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rapport.graph.errors import ConstraintViolation
from rapport.graph.types import GraphStore
from rapport.migrations.files import MigrationError, discover
from rapport.migrations.runner import MigrationRunner
from tests.conftest import open_second_connection


def write_migrations(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


async def test_built_in_migrations_create_constraints_and_search_indexes(store: GraphStore) -> None:
    applied = await MigrationRunner(store).migrate()
    assert [m.version for m in applied] == [m.version for m in discover()]
    await store.write("CREATE (:Customer {id: 'c1', firstName: 'Grace', lastName: 'Hopper'})")
    with pytest.raises(ConstraintViolation):
        await store.write("CREATE (:Customer {id: 'c1'})")
    search = store.dialect.fulltext_nodes("customer_search", "Customer")
    rows = await store.read(f"{search} RETURN node.id AS id", {"query": "hopper"})
    assert rows == [{"id": "c1"}]


async def test_status_lists_applied_and_pending_with_times(store: GraphStore, tmp_path: Path) -> None:
    directory = write_migrations(tmp_path / "m", {"V001__first.cypher": "CREATE (:Thing {n: 1});"})
    runner = MigrationRunner(store, discover(directory))
    assert [(s.version, s.state) for s in await runner.status()] == [(1, "pending")]
    await runner.migrate()
    write_migrations(directory, {"V002__second.cypher": "MATCH (t:Thing) SET t.n = t.n + 1;"})
    runner = MigrationRunner(store, discover(directory))
    status = await runner.status()
    assert [(s.version, s.description, s.state) for s in status] == [
        (1, "first", "applied"), (2, "second", "pending"),
    ]  # fmt: skip
    assert status[0].applied_at is not None and status[1].applied_at is None


async def test_applying_twice_changes_nothing(store: GraphStore, tmp_path: Path) -> None:
    directory = write_migrations(tmp_path / "m", {
        "V001__thing.cypher": "CREATE (:Thing {n: 1});\nMATCH (t:Thing) SET t.n = t.n * 10;",
    })  # fmt: skip
    assert len(await MigrationRunner(store, discover(directory)).migrate()) == 1
    assert await MigrationRunner(store, discover(directory)).migrate() == []
    assert await store.read("MATCH (t:Thing) RETURN t.n AS n") == [{"n": 10}]


async def test_a_changed_applied_file_is_refused(store: GraphStore, tmp_path: Path) -> None:
    directory = write_migrations(tmp_path / "m", {"V001__thing.cypher": "CREATE (:Thing);"})
    await MigrationRunner(store, discover(directory)).migrate()
    write_migrations(directory, {"V001__thing.cypher": "CREATE (:Thing {edited: true});"})
    runner = MigrationRunner(store, discover(directory))
    assert [s.state for s in await runner.status()] == ["changed"]
    with pytest.raises(MigrationError, match=r"V001__thing\.cypher was changed after it was applied"):
        await runner.migrate()


async def test_a_failing_migration_is_not_recorded(store: GraphStore, tmp_path: Path) -> None:
    directory = write_migrations(tmp_path / "m", {
        "V001__ok.cypher": "CREATE (:Thing);",
        "V002__broken.cypher": "CREATE (:Thing;",
    })  # fmt: skip
    with pytest.raises(MigrationError, match=r"V002__broken\.cypher failed"):
        await MigrationRunner(store, discover(directory)).migrate()
    states = [s.state for s in await MigrationRunner(store, discover(directory)).status()]
    assert states == ["applied", "pending"]


def test_misnamed_and_duplicate_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match=r"named V<number>__<description>\.cypher"):
        discover(write_migrations(tmp_path / "a", {"001_first.cypher": "RETURN 1;"}))
    with pytest.raises(MigrationError, match="share version 1"):
        discover(write_migrations(tmp_path / "b", {"V001__a.cypher": "", "V1__b.cypher": ""}))


async def test_concurrent_migrators_apply_each_file_once(
    store: GraphStore, session_store: GraphStore, tmp_path: Path
) -> None:
    directory = write_migrations(tmp_path / "m", {
        f"V{v:03d}__step_{v}.cypher": "CREATE (:Applied {at: timestamp()});" for v in range(1, 6)
    })  # fmt: skip
    other = await open_second_connection(session_store, tmp_path)
    try:
        results = await asyncio.gather(
            MigrationRunner(store, discover(directory)).migrate(),
            MigrationRunner(other, discover(directory)).migrate(),
        )
    finally:
        await other.close()
    assert sorted(m.version for applied in results for m in applied) == [1, 2, 3, 4, 5]
    assert await store.read("MATCH (a:Applied) RETURN count(a) AS n") == [{"n": 5}]


async def test_migrating_through_a_version_leaves_the_later_ones_pending(
    store: GraphStore, tmp_path: Path
) -> None:
    directory = write_migrations(tmp_path / "m", {
        "V001__a.cypher": "CREATE INDEX a_x IF NOT EXISTS FOR (n:A) ON (n.x);",
        "V002__b.cypher": "CREATE INDEX b_x IF NOT EXISTS FOR (n:B) ON (n.x);",
        "V003__c.cypher": "CREATE (:Thing);",
    })  # fmt: skip
    runner = MigrationRunner(store, discover(directory))
    assert [m.version for m in await runner.migrate(through=1)] == [1]
    assert [s.state for s in await runner.status()] == ["applied", "pending", "pending"]
    assert [m.version for m in await runner.migrate()] == [2, 3]


async def test_schema_migrations_applied_together_fail_together_naming_each_file(
    store: GraphStore, tmp_path: Path
) -> None:
    directory = write_migrations(tmp_path / "m", {
        "V001__index.cypher": "CREATE INDEX a_x IF NOT EXISTS FOR (n:A) ON (n.x);",
        "V002__broken.cypher": "CREATE INDEX b_x IF NOT EXISTS FOR (n:B) ON (n.x;",
    })  # fmt: skip
    with pytest.raises(MigrationError, match=r"V001__index\.cypher, V002__broken\.cypher failed"):
        await MigrationRunner(store, discover(directory)).migrate()
    states = [s.state for s in await MigrationRunner(store, discover(directory)).status()]
    assert states == ["pending", "pending"]
