"""The embedded FalkorDB child: persistence, locking, shutdown, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rapport.config import Settings
from rapport.graph.connect import open_store
from rapport.graph.errors import StoreConfigError
from rapport.graph.falkordb_store import FalkorDBStore
from rapport.schema.custom_fields import CustomFields
from tests.conftest import process_environment
from tests.http_server import free_port, healthy, wait_until


def embedded_settings(data_dir: Path, fsync: str = "everysec") -> Settings:
    return Settings(data_dir=data_dir, embedded_fsync=fsync, neo4j_uri=None, falkordb_url=None)  # type: ignore[arg-type]


def rapport(*args: str, data_dir: Path, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rapport", *args],
        env=process_environment({"RAPPORT_DATA_DIR": str(data_dir)}),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )  # type: ignore[call-overload]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    return state != "Z"


def child_pid(data_dir: Path) -> int:
    assert wait_until(lambda: (data_dir / "falkordb.pid").exists())
    return int((data_dir / "falkordb.pid").read_text())


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """``rapport serve`` on a fresh data directory, answering HTTP."""
    port = free_port()
    process = rapport("serve", "--port", str(port), data_dir=tmp_path)
    try:
        started = wait_until(lambda: process.poll() is not None or healthy(port), timeout=60)
        assert started and process.poll() is None, "rapport serve did not start"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # reap it and close its pipes


async def test_acknowledged_writes_survive_kill_9_of_the_child(tmp_path: Path) -> None:
    store = await open_store(embedded_settings(tmp_path, fsync="always"))
    assert isinstance(store, FalkorDBStore) and store.embedded is not None
    for i in range(100):
        await store.write("CREATE (:Account {id: $id})", {"id": str(i)})
    os.kill(store.embedded.pid or 0, signal.SIGKILL)
    await store.close()

    reopened = await open_store(embedded_settings(tmp_path, fsync="always"))
    try:
        assert await reopened.read("MATCH (a:Account) RETURN count(a) AS n") == [{"n": 100}]
    finally:
        await reopened.close()


async def test_custom_fields_survive_a_restart(tmp_path: Path) -> None:
    store = await open_store(embedded_settings(tmp_path))
    await CustomFields(store).declare("Deal", "competitor", "string")
    await store.close()
    reopened = await open_store(embedded_settings(tmp_path))
    try:
        schema = await CustomFields(reopened).load()
        assert [f.name for f in schema.custom["Deal"]] == ["competitor"]
    finally:
        await reopened.close()


async def test_a_locked_data_directory_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    store = await open_store(embedded_settings(tmp_path))
    try:
        with pytest.raises(
            StoreConfigError,
            match=f"data directory {tmp_path} is in use by another Rapport instance",
        ):
            await open_store(embedded_settings(tmp_path))
        other = rapport("cypher", "RETURN 1 AS one", data_dir=tmp_path)
        _, err = other.communicate(timeout=60)
        assert other.returncode == 1
        assert err.strip().count("\n") == 0 and "is in use by another Rapport instance" in err
    finally:
        await store.close()


def test_sigterm_shuts_parent_and_child_down_cleanly(serve: subprocess.Popen[str], tmp_path: Path) -> None:
    child = child_pid(tmp_path)
    serve.send_signal(signal.SIGTERM)
    _, err = serve.communicate(timeout=30)
    # uvicorn finishes the shutdown, then ends by the signal it received, as a signalled process should.
    assert serve.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in err
    assert wait_until(lambda: not alive(child))
    log = (tmp_path / "falkordb.log").read_text()
    assert "ready to exit" in log  # Redis's own words for a clean shutdown


def test_no_orphan_when_the_parent_is_killed(serve: subprocess.Popen[str], tmp_path: Path) -> None:
    child = child_pid(tmp_path)
    serve.kill()
    serve.communicate(timeout=10)
    assert wait_until(lambda: not alive(child)), "the FalkorDB child outlived its parent"
    again = rapport("cypher", "RETURN 1 AS one", data_dir=tmp_path)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "1 row" in out
