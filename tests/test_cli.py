"""The ``rapport`` command: readable one-line errors, tables, migrations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rapport.graph.types import GraphStore
from rapport.migrations.files import discover
from rapport.migrations.runner import MigrationRunner
from tests.conftest import neo4j_settings, process_environment, store_environment
from tests.outbox_state import recorded_events

BUILT_IN = discover()


def run(
    *args: str, env: dict[str, str], timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rapport", *args], env=process_environment(env), input=input,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


@pytest.fixture
def store_env(store: GraphStore) -> dict[str, str]:
    """Environment that points the CLI at the (emptied) test database of each backend."""
    return store_environment(store)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_lists_the_commands() -> None:
    result = run("--help", env={})
    assert result.returncode == 0
    for command in ("migrate", "cypher", "serve", "fields"):
        assert command in result.stdout


def test_an_unreachable_neo4j_stops_start_up_with_one_line() -> None:
    result = run("migrate", env={"RAPPORT_NEO4J_URI": "bolt://127.0.0.1:1", "RAPPORT_NEO4J_PASSWORD": "x"})
    assert_one_line_error(result, "rapport: error: Neo4j is unreachable")


def test_a_malformed_uri_stops_start_up_with_one_line() -> None:
    result = run("migrate", env={"RAPPORT_NEO4J_URI": "http://localhost:7474"})
    assert_one_line_error(result, "RAPPORT_NEO4J_URI", "must start with one of bolt://")


def test_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    result = run("migrate", env={"RAPPORT_QUERY_TIMEOUT": "-3", "RAPPORT_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "RAPPORT_QUERY_TIMEOUT", "greater than 0")


def test_bad_neo4j_credentials_stop_start_up_with_one_line() -> None:
    configured = neo4j_settings()
    if configured is None:
        pytest.skip("Neo4j not configured (RAPPORT_TEST_NEO4J_URI)")
    env = {f"RAPPORT_{k.upper()}": v for k, v in configured.items()}
    result = run("migrate", env=env | {"RAPPORT_NEO4J_PASSWORD": "wrong-password"})
    assert_one_line_error(result, "Neo4j rejected the credentials")


def test_migrate_dry_run_status_and_apply_through_a_version_then_the_rest(
    store_env: dict[str, str], store: GraphStore
) -> None:
    env = store_env
    dry = run("migrate", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "CREATE CONSTRAINT customer_id IF NOT EXISTS" in dry.stdout
    assert f"{len(BUILT_IN)} pending migration(s); nothing applied" in dry.stdout
    assert "pending" in run("migrate", "--status", env=env).stdout
    first = run("migrate", "--through", "1", env=env)
    assert first.stdout.splitlines() == [
        f"applied {BUILT_IN[0].file_name}",
        f"1 migration(s) applied on {store.backend}; schema is at V001 or later",
    ]
    assert f"{len(BUILT_IN) - 1} pending migration(s)" in run("migrate", "--dry-run", env=env).stdout
    applied = run("migrate", env=env)
    assert f"{len(BUILT_IN) - 1} migration(s) applied on {store.backend}" in applied.stdout
    status = run("migrate", "--status", env=env).stdout.splitlines()
    assert [line.split()[:2] for line in status] == [[f"V{m.version:03d}", "applied"] for m in BUILT_IN]


def test_cypher_prints_a_table(store_env: dict[str, str]) -> None:
    result = run("cypher", "UNWIND [1, 2] AS n RETURN n, $name AS name, {k: n} AS m",
                 "--param", "name=\"Ada\"", env=store_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "+---+------+----------+",
        "| n | name | m        |",
        "+---+------+----------+",
        '| 1 | Ada  | {"k": 1} |',
        '| 2 | Ada  | {"k": 2} |',
        "+---+------+----------+",
        "2 rows",
    ]


def test_cypher_is_read_only(store_env: dict[str, str]) -> None:
    result = run("cypher", "CREATE (:Account {id: 'x'})", env=store_env)
    assert_one_line_error(result, "a read query tried to write")


async def test_custom_fields_are_declared_listed_and_dropped(
    store: GraphStore, store_env: dict[str, str]
) -> None:
    await MigrationRunner(store).migrate()
    tier = ("Account", "loyaltyTier")
    declared = run(
        "fields", "declare", *tier, "enum", "--choice", "gold", "--choice", "silver", env=store_env
    )
    assert declared.stdout.strip() == "declared Account.loyaltyTier (enum)", declared.stderr
    assert run("fields", "list", env=store_env).stdout.splitlines() == [
        "Account.loyaltyTier: enum [gold, silver]"
    ]
    assert run("fields", "drop", *tier, env=store_env).stdout.strip() == "dropped Account.loyaltyTier"
    assert run("fields", "list", env=store_env).stdout == ""
    again = run("fields", "drop", *tier, env=store_env)
    assert_one_line_error(again, "Account.loyaltyTier", "is not a declared custom field")
    events = await recorded_events(store)
    assert [(e["type"], e["ids"], e["actor"]) for e in events] == [
        ("created", ["Account.loyaltyTier"], "operator"),
        ("deleted", ["Account.loyaltyTier"], "operator"),
    ]


def test_two_processes_migrating_at_once_apply_each_file_once(
    store_env: dict[str, str], store: GraphStore
) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "rapport", "migrate"],
            env=process_environment(store_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=180) for p in processes]
    finally:
        for p in processes:  # never leave a migrator behind to disturb the next test
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in processes] == [0, 0], outputs
    applied = sorted(line for out, _ in outputs for line in out.splitlines() if line.startswith("applied "))
    assert applied == [f"applied {m.file_name}" for m in BUILT_IN]


def test_neo4j_routing_uris_are_accepted() -> None:
    configured = neo4j_settings()
    if configured is None:
        pytest.skip("Neo4j not configured (RAPPORT_TEST_NEO4J_URI)")
    env = {f"RAPPORT_{k.upper()}": v for k, v in configured.items()}
    env["RAPPORT_NEO4J_URI"] = env["RAPPORT_NEO4J_URI"].replace("bolt://", "neo4j://")
    result = run("cypher", "RETURN 1 AS one", env=env)
    assert result.returncode == 0, result.stderr
    assert "1 row" in result.stdout


def test_import_reports_bad_rows_one_per_line_and_exits_non_zero(
    store_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "m.toml").write_text(
        '[[entity]]\nlabel = "Account"\nfile = "a.csv"\nkey = "Id"\n'
        'fields = { name = "Name", employees = "Staff" }\n'
    )
    (tmp_path / "a.csv").write_text("Id,Name,Staff\n1,Acme,many\n2,,3\n")
    result = run("import", str(tmp_path / "m.toml"), env=store_env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-3:] == [
        "a.csv:2: column 'Staff': 'many' is not a number (rule: number)",
        "a.csv:3: column 'Name': is required (rule: required)",
        "rapport: error: 2 invalid row(s); nothing imported (--skip-invalid imports the valid ones)",
    ]
    result = run("import", str(tmp_path / "m.toml"), "--skip-invalid", "--reject-file",
                 str(tmp_path / "rejects.csv"), env=store_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Account: 0 created" in result.stdout and "rejected: 2 row(s)" in result.stdout
    assert (tmp_path / "rejects.csv").read_text().count("\n") == 3
