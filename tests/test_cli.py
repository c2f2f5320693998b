"""The ``rapport`` command: readable one-line errors, tables, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, neo4j_settings


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    return subprocess.run([sys.executable, "-m", "rapport", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def backend_env(backend: str, tmp_path: Path) -> dict[str, str]:
    """Environment that points the CLI at ``backend`` (the embedded one in ``tmp_path``)."""
    env = {"RAPPORT_DATA_DIR": str(tmp_path)}
    if backend == "neo4j":
        configured = neo4j_settings()
        if configured is None:
            pytest.skip("Neo4j not configured (RAPPORT_TEST_NEO4J_URI)")
        env |= {f"RAPPORT_{k.upper()}": v for k, v in configured.items()}
    return env


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run("--help", env={})
    assert result.returncode == 0
    for command in ("migrate", "cypher", "serve", "fields"):
        assert command in result.stdout


def test_an_unreachable_neo4j_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = run("migrate", env={"RAPPORT_NEO4J_URI": "bolt://127.0.0.1:1", "RAPPORT_NEO4J_PASSWORD": "x"})
    assert_one_line_error(result, "rapport: error: Neo4j is unreachable")


def test_a_malformed_uri_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = run("migrate", env={"RAPPORT_NEO4J_URI": "http://localhost:7474"})
    assert_one_line_error(result, "RAPPORT_NEO4J_URI", "must start with one of bolt://")


def test_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    result = run("migrate", env={"RAPPORT_QUERY_TIMEOUT": "-3", "RAPPORT_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "RAPPORT_QUERY_TIMEOUT", "greater than 0")


def test_bad_neo4j_credentials_stop_start_up_with_one_line(tmp_path: Path) -> None:
    env = backend_env("neo4j", tmp_path) | {"RAPPORT_NEO4J_PASSWORD": "wrong-password"}
    result = run("migrate", env=env)
    assert_one_line_error(result, "Neo4j rejected the credentials")


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_dry_run_status_and_apply(backend: str, tmp_path: Path) -> None:
    env = backend_env(backend, tmp_path)
    if backend == "neo4j":
        pytest.skip("the Neo4j server is shared with the store fixtures; migrations are covered there")
    dry = run("migrate", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "CREATE CONSTRAINT customer_id IF NOT EXISTS" in dry.stdout
    assert "3 pending migration(s); nothing applied" in dry.stdout
    assert "pending" in run("migrate", "--status", env=env).stdout
    applied = run("migrate", env=env)
    assert "3 migration(s) applied on falkordb" in applied.stdout
    status = run("migrate", "--status", env=env).stdout.splitlines()
    assert [line.split()[:2] for line in status] == [
        ["V001", "applied"],
        ["V002", "applied"],
        ["V003", "applied"],
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_cypher_prints_a_table(backend: str, tmp_path: Path) -> None:
    result = run("cypher", "UNWIND [1, 2] AS n RETURN n, $name AS name, {k: n} AS m",
                 "--param", "name=\"Ada\"", env=backend_env(backend, tmp_path))  # fmt: skip
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


@pytest.mark.parametrize("backend", BACKENDS)
def test_cypher_is_read_only(backend: str, tmp_path: Path) -> None:
    result = run("cypher", "CREATE (:Account {id: 'x'})", env=backend_env(backend, tmp_path))
    assert_one_line_error(result, "a read query tried to write")
