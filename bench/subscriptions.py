"""Subscription benchmark: change events from a mutation's commit to many WebSocket subscribers.

    .venv/bin/python -m bench.subscriptions                       # the issue's whole matrix, both backends
    .venv/bin/python -m bench.subscriptions --backend falkordb --subscribers 1,100 --duration 5

For each backend the database is a fresh embedded FalkorDB (whose bundled
Redis holds the event stream too), or the Neo4j named by RAPPORT_NEO4J_URI /
_USER / _PASSWORD with a bundled redis-server started for the event stream.
Give the benchmark a Neo4j database of its own: the server's relay publishes,
and marks sent, every unsent outbox record it finds there, other writers'
too. ``rapport serve --workers 1`` runs in its own process; subscriber
processes (``--client-processes``, see ``bench/subscriptions_clients.py``)
hold the connections, each subscribed over ``graphql-transport-ws`` to
``changes(labels: ["Segment"])`` with every field of the event selected. The
events are Segment records the run creates (named with the run's prefix,
removed at the end).

  (1) memory: the server's resident memory (VmRSS) after a warm-up with no
      connection, then with the largest number of subscribers connected,
      subscribed and idle: the difference per connection;
  (2) fan-out, from the largest number of subscribers down: ``--events``
      single events, each by its own mutation, one at a time (the next once
      the last subscriber has the previous one);
  (3) sustained: 100 subscribers, ``--events-per-second`` for ``--duration``
      seconds, ``--batch`` events per mutation sent on a fixed schedule; with
      the CPU time each party (server, stores on this machine, subscribers,
      driver) used per committed event, see ``bench/cpu_use.py``.

Before each scenario a probe event must reach every subscriber, so that no
subscription is still being set up when timing starts. Latency is receipt
time minus commit time over every (event, subscriber) delivery, with the
commit bracketed by the event's ``at`` (before it; judged against the
targets) and the mutation's HTTP answer (after it); see
``bench/subscriptions_figures.py``. Missing and duplicate deliveries are
counted, and printed loudly when there are any.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.api_load import BenchError
from bench.api_servers import (
    RAPPORT_SERVER,
    Running,
    database,
    server_environment,
    server_process,
    settings_from,
)
from bench.backends import BACKENDS
from bench.cpu_use import CpuMeter, CpuUse, local_listener
from bench.machine import machine
from bench.subscriptions_clients import SubscriberPool, raise_open_files_limit
from bench.subscriptions_figures import Latency, commit_rate, latency, resident_kib
from bench.subscriptions_mutations import Mutator
from rapport.auth.actor import Role
from rapport.auth.tokens import TokenIssuer
from rapport.config import Settings
from rapport.graph.connect import store_session
from rapport.graph.embedded import EmbeddedFalkorDB

LABEL, PLURAL = "Segment", "Segments"  # a label nothing else writes while the benchmark runs
SUSTAINED_SUBSCRIBERS = 100
_WARM_UP = (10, 3)  # subscribers, events: the code paths run once before memory is read
_SETTLE_S = 2.0  # after connections open or close, before memory is read or the next scenario
_EVENT_GAP_S = 0.2  # between fan-out events, once the previous one reached everyone
_DELIVERY_TIMEOUT_S = 60.0  # for an event (or the sustained run's tail) to reach every subscriber
_PROBES = 5
_IN_FLIGHT = 8  # unanswered mutations at most during the sustained run

# The issue's targets.
FANOUT_SUBSCRIBERS, FANOUT_MAX_P99_MS = 10_000, 250.0
SUSTAINED_MIN_PER_SECOND, SUSTAINED_MAX_P99_MS = 1_000.0, 100.0
RATE_TOLERANCE = 0.01  # a delivered rate within 1% of the target meets it (the schedule's own jitter)
MEMORY_MAX_KIB = 30.0


@dataclass(frozen=True, slots=True)
class FanOut:
    """Single events to ``subscribers``, one at a time."""

    subscribers: int
    latency: Latency
    setup_failures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sustained:
    """A steady event rate to ``subscribers``."""

    subscribers: int
    latency: Latency
    committed_per_second: float
    setup_failures: tuple[str, ...]
    cpu: CpuUse  # from the first mutation until every subscriber had every event


@dataclass(frozen=True, slots=True)
class Memory:
    """The server's resident memory without connections, and with ``connections`` idle ones."""

    connections: int
    before_kib: int
    after_kib: int

    @property
    def per_connection_kib(self) -> float:
        return (self.after_kib - self.before_kib) / self.connections


@dataclass
class BackendRun:
    """What one backend's part of the benchmark measured."""

    backend: str
    args: argparse.Namespace
    load_before: float  # the machine's 1-minute load average before the server started: others' work
    memory: Memory | None = None
    fan_outs: list[FanOut] = field(default_factory=list)
    sustained: Sustained | None = None


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def _event_stream(backend: str, workdir: Path) -> Iterator[dict[str, str]]:
    """The Redis for the event stream: FalkorDB's own server, or a bundled redis-server beside Neo4j."""
    if backend != "neo4j":
        yield {"RAPPORT_REDIS_URL": ""}  # empty: the FalkorDB server, whatever the caller's environment says
        return
    redis = EmbeddedFalkorDB(workdir / "redis")
    redis.start()
    try:
        yield {"RAPPORT_REDIS_URL": redis.url}
    finally:
        redis.stop()


def _cpu_parties(settings: Settings, server: Running, pool: SubscriberPool) -> dict[str, list[int]]:
    """The processes whose CPU time the sustained scenario reports, by party; a store on
    another machine has none here."""
    stores = {
        "neo4j": settings.neo4j_uri,
        "falkordb (graph, stream)": settings.falkordb_url,
        "redis (stream)": settings.redis_url,
    }
    listeners = {party: local_listener(url) for party, url in stores.items() if url}
    return {
        "rapport serve": [server.pid],
        **{party: [pid] if pid else [] for party, pid in listeners.items()},
        "subscribers": pool.pids,
        "driver": [os.getpid()],
    }


class _Bench:
    """One server, its subscribers and its mutations, driven through the scenarios."""

    def __init__(
        self, run: BackendRun, server: Running, pool: SubscriberPool, mutator: Mutator, cpu: CpuMeter
    ) -> None:
        self.run = run
        self.cpu = cpu
        self.server = server
        self.pool = pool
        self.mutator = mutator
        self.http = httpx.Client()

    def _subscribe(self, subscribers: int) -> list[str]:
        """Hold ``subscribers`` live subscriptions: resized, then proven by a probe reaching all."""
        failures = self.pool.resize(subscribers)
        time.sleep(_SETTLE_S)
        for _ in range(_PROBES):
            probe, _answered = self.mutator.create_one(self.http)
            self.pool.wait(1, _DELIVERY_TIMEOUT_S)
            found = self.pool.collect([probe])
            failures += found.failures
            if not found.missing:
                return failures
        raise BenchError(f"{found.missing} of {subscribers} subscribers still had no probe after {_PROBES}")

    def _events(self, count: int) -> dict[str, float]:
        """Send ``count`` single events, each once the previous one reached every subscriber;
        when each mutation was answered, by record id."""
        answered = {}
        for n in range(1, count + 1):
            record_id, answered[record_id] = self.mutator.create_one(self.http)
            self.pool.wait(n, _DELIVERY_TIMEOUT_S)
            time.sleep(_EVENT_GAP_S)
        return answered

    def warm_up(self) -> None:
        """Run every code path once, so that memory read afterwards is the connections' own."""
        subscribers, events = _WARM_UP
        self._subscribe(subscribers)
        self.pool.collect(self._events(events))

    def memory(self, connections: int) -> list[str]:
        """(1): the server's memory without connections, then with ``connections`` idle ones."""
        self.pool.resize(0)
        time.sleep(_SETTLE_S)
        before = resident_kib(self.server.pid)
        failures = self._subscribe(connections)
        time.sleep(_SETTLE_S)
        self.run.memory = Memory(connections, before, resident_kib(self.server.pid))
        return failures

    def fan_out(self, subscribers: int, events: int, setup_failures: list[str]) -> None:
        """(2): single events to ``subscribers``."""
        setup_failures = setup_failures + self._subscribe(subscribers)
        answered = self._events(events)
        figures = latency(self.pool.collect(answered), answered, batch=1)
        self.run.fan_outs.append(FanOut(subscribers, figures, tuple(setup_failures)))
        _progress(f"  fan-out to {subscribers:,}: {_summary(figures)}")

    def sustained(self, rate: float, batch: int, seconds: float) -> None:
        """(3): ``rate`` events per second to 100 subscribers for ``seconds``."""
        setup_failures = self._subscribe(SUSTAINED_SUBSCRIBERS)
        cpu_before = self.cpu.now()
        answered = asyncio.run(self.mutator.drive(rate, batch, seconds, _IN_FLIGHT))
        self.pool.wait(len(answered), _DELIVERY_TIMEOUT_S)
        cpu = self.cpu.since(cpu_before)
        figures = latency(self.pool.collect(answered), answered, batch)
        committed = commit_rate(answered, batch)
        self.run.sustained = Sustained(SUSTAINED_SUBSCRIBERS, figures, committed, tuple(setup_failures), cpu)
        _progress(f"  sustained: {committed:,.0f} events/s committed, {_summary(figures)}")

    def close(self) -> None:
        self.http.close()


def _summary(figures: Latency) -> str:
    return (
        f"p50 {figures.p50_ms:.1f} ms, p99 {figures.p99_ms:.1f} ms, "
        f"{figures.missing} missing, {figures.duplicates} duplicates"
    )


def _admin_token(secret: str) -> str:
    """A bearer token the server accepts, valid for longer than any run (an expired one closes sockets)."""
    return TokenIssuer(secret, ttl=24 * 3600).issue(subject="service:bench-subscriptions", role=Role.ADMIN)


async def _remove_records(settings: Settings, prefix: str) -> None:
    """Delete the run's records (on Neo4j the graph outlives the run)."""
    async with store_session(settings) as store:
        await store.delete_in_batches(
            f"MATCH (n:{LABEL}) WHERE n.name STARTS WITH $prefix", {"prefix": prefix}
        )


def _measure(run: BackendRun, server: Running, settings: Settings, token: str, prefix: str) -> None:
    args = run.args
    sizes = sorted(set(args.subscribers), reverse=True)
    url = server.base.replace("http", "ws", 1) + "/graphql"
    mutator = Mutator(f"{server.base}/graphql", token, LABEL, PLURAL, prefix)
    with SubscriberPool(args.client_processes, url, token, LABEL, deflate=args.deflate) as pool:
        cpu = CpuMeter(_cpu_parties(settings, server, pool))
        bench = _Bench(run, server, pool, mutator, cpu)
        try:
            _progress(f"{run.backend}: warming up")
            bench.warm_up()
            _progress(f"{run.backend}: memory of {sizes[0]:,} idle connections")
            failures = bench.memory(sizes[0])
            for subscribers in sizes:
                bench.fan_out(subscribers, args.events, failures)
                failures = []
            _progress(f"{run.backend}: sustained {args.events_per_second:,.0f} events/s")
            bench.sustained(args.events_per_second, args.batch, args.duration)
        finally:
            bench.close()


def _run_backend(backend: str, args: argparse.Namespace) -> BackendRun:
    with (
        tempfile.TemporaryDirectory(prefix="rapport-bench-subscriptions-") as tmp,
        database(backend, Path(tmp)) as db,
        _event_stream(backend, Path(tmp)) as stream,
    ):
        workdir = Path(tmp)
        secret = secrets.token_urlsafe(48)
        environment = server_environment(db | stream, workdir, secret)
        settings = settings_from(environment)
        prefix = f"bench-subscriptions {uuid.uuid4().hex[:8]}"
        run = BackendRun(backend, args, os.getloadavg()[0])
        _progress(f"{backend}: starting rapport serve --workers 1")
        try:
            with server_process(RAPPORT_SERVER, environment, workdir / "rapport.log") as server:
                _measure(run, server, settings, _admin_token(secret), prefix)
        finally:
            asyncio.run(_remove_records(settings, prefix))
        return run


def _met(met: bool) -> str:
    return "met" if met else "MISSED"


def _fan_out_target(row: FanOut) -> str:
    if row.subscribers != FANOUT_SUBSCRIBERS:
        return ""
    met = row.latency.complete and row.latency.p99_ms <= FANOUT_MAX_P99_MS
    return f"p99 <= {FANOUT_MAX_P99_MS:g} ms: {_met(met)}"


def _sustained_target(row: Sustained) -> str:
    figures = row.latency
    met = (
        figures.complete
        and figures.delivered_per_second >= SUSTAINED_MIN_PER_SECOND * (1 - RATE_TOLERANCE)
        and figures.p99_ms <= SUSTAINED_MAX_P99_MS
    )
    return f">= {SUSTAINED_MIN_PER_SECOND:,.0f} events/s, p99 <= {SUSTAINED_MAX_P99_MS:g} ms: {_met(met)}"


def _number(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def _row(scenario: str, subscribers: int, figures: Latency, rate: float, target: str) -> str:
    return (
        f"{scenario:<24} {subscribers:>7,} {figures.events:>7,} {_number(figures.p50_ms):>8} "
        f"{_number(figures.p99_ms):>8} {_number(figures.slowest_ms):>8} {_number(figures.answer_p50_ms):>8} "
        f"{_number(figures.answer_p99_ms):>8} {_number(rate, 0):>9} "
        f"{figures.missing:>7,} {figures.duplicates:>5,}  {target}"
    )


def _problems(scenario: str, figures: Latency, setup_failures: tuple[str, ...]) -> list[str]:
    """Loud lines for anything short of every subscriber getting every event once."""
    lines = []
    if figures.missing or figures.duplicates or figures.strays:
        lines.append(
            f"!! {scenario}: {figures.missing:,} deliveries MISSING (not received within "
            f"{_DELIVERY_TIMEOUT_S:g} s), {figures.duplicates:,} duplicates, {figures.strays:,} late ones "
            "from an earlier scenario"
        )
    for reason, count in Counter(setup_failures + figures.failures).most_common(5):
        lines.append(f"!! {scenario}: {count:,} connection(s): {reason}")
    return lines


def _print_report(run: BackendRun) -> None:
    args = run.args
    deflate = "offering" if args.deflate else "without"
    print(
        f"\n== {run.backend}: rapport serve --workers 1; {args.client_processes} subscriber processes, "
        f"connections {deflate} permessage-deflate"
    )
    print(
        f"   {os.cpu_count()} cores shared by the server, the subscribers and the driver "
        f"(load average {run.load_before:.2f} before); events: {LABEL} records created by create{PLURAL}"
    )
    print(
        "   latency in ms over every (event, subscriber) delivery: receipt minus the event's `at` (set just "
        "before the\n   mutation's transaction: an upper bound, judged against the targets), and minus "
        "the mutation's HTTP answer\n   (after the commit: a lower bound); slowest: median over events "
        "of the last subscriber's latency"
    )
    print(
        f"{'scenario':<24} {'subs':>7} {'events':>7} {'p50':>8} {'p99':>8} {'slowest':>8} "
        f"{'ans p50':>8} {'ans p99':>8} {'events/s':>9} {'missing':>7} {'dups':>5}  target"
    )
    problems = []
    for row in run.fan_outs:
        # One event at a time, paced by the benchmark: no rate to speak of.
        print(_row("fan-out, 1 at a time", row.subscribers, row.latency, math.nan, _fan_out_target(row)))
        problems += _problems(f"fan-out to {row.subscribers:,}", row.latency, row.setup_failures)
    if run.sustained is not None:
        sustained = run.sustained
        scenario = f"sustained {args.duration:g}s, {args.batch}/mut."
        rate = sustained.latency.delivered_per_second
        print(_row(scenario, sustained.subscribers, sustained.latency, rate, _sustained_target(sustained)))
        print(
            f"   sustained: {args.events_per_second:,.0f} events/s offered, "
            f"{_number(sustained.committed_per_second, 0)} committed, "
            f"{_number(sustained.latency.delivered_per_second, 0)} delivered to every subscriber "
            f"(between the first and the last event reaching all)"
        )
        print(_cpu_line(sustained))
        problems += _problems("sustained", sustained.latency, sustained.setup_failures)
    if run.memory is not None:
        memory = run.memory
        per = memory.per_connection_kib
        print(
            f"memory: {memory.connections:,} idle subscribed connections: server RSS "
            f"{memory.before_kib / 1024:,.1f} MiB -> {memory.after_kib / 1024:,.1f} MiB = {per:,.1f} KiB "
            f"per connection  target <= {MEMORY_MAX_KIB:g} KiB: {_met(per <= MEMORY_MAX_KIB)}"
        )
    for line in problems:
        print(line)
    sys.stdout.flush()


def _cpu_line(sustained: Sustained) -> str:
    """CPU per committed event by party, and the cores the target rate would keep busy at that cost."""
    events = sustained.latency.events
    if not events:
        return "   cpu: no event committed"
    per_event = sustained.cpu.per_event_ms(events)
    parties = ", ".join(f"{party} {ms:.2f}" for party, ms in per_event.items())
    total_ms = sustained.cpu.total * 1000 / events
    cores = total_ms * SUSTAINED_MIN_PER_SECOND / 1000
    return (
        f"   cpu per committed event, ms: {parties}; all {total_ms:.2f}: "
        f"{SUSTAINED_MIN_PER_SECOND:,.0f} events/s would keep {cores:.1f} cores busy (this machine has "
        f"{os.cpu_count()})"
        + "".join(f"; {party}: not measured (not on this machine)" for party in sustained.cpu.unmeasured)
    )


def _counts(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",")]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument(
        "--subscribers",
        type=_counts,
        default=[1, 100, 1_000, 10_000],
        help="concurrent subscribers for the fan-out, comma-separated (default 1,100,1000,10000)",
    )
    parser.add_argument("--events", type=int, default=20, help="single events per fan-out size (default 20)")
    parser.add_argument(
        "--events-per-second", type=float, default=1_000.0, help="sustained event rate (default 1000)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sustained load (default 10)")
    parser.add_argument(
        "--batch", type=int, default=10, help="events per mutation when sustained (default 10)"
    )
    parser.add_argument(
        "--client-processes", type=int, default=4, help="processes holding the subscribers (default 4)"
    )
    parser.add_argument(
        "--no-deflate",
        dest="deflate",
        action="store_false",
        help="subscribers do not offer permessage-deflate (browsers do, and so do they by default)",
    )
    args = parser.parse_args()
    if min(*args.subscribers, args.events, args.batch, args.client_processes) < 1:
        parser.error("counts must be positive")
    if min(args.events_per_second, args.duration) <= 0:
        parser.error("the rate and the duration must be positive")
    return args


def main() -> None:
    args = _arguments()
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    raise_open_files_limit()  # the server and the subscriber processes inherit it
    print(f"machine: {machine()}", flush=True)
    try:
        if "neo4j" in backends and not os.environ.get("RAPPORT_NEO4J_URI"):
            raise BenchError(
                "set RAPPORT_NEO4J_URI/_USER/_PASSWORD for the neo4j backend (scripts/neo4j-server start, "
                "then source its env file), or pass --backend falkordb"
            )
        for backend in backends:
            _print_report(_run_backend(backend, args))
    except BenchError as error:
        sys.exit(f"bench: {error}")


if __name__ == "__main__":
    main()
