"""Bulk-ingest benchmark: seed the demo graph and print elements per second.

    .venv/bin/python -m bench.ingest                      # 10K and 100K customers, both backends
    .venv/bin/python -m bench.ingest --sizes 1000000      # the 1M graph (slow)
    .venv/bin/python -m bench.ingest --backends falkordb --repeat 3

Each run is a fresh child process (so its peak RSS is its own) on an empty
store: a new embedded data directory, or the Neo4j named by RAPPORT_NEO4J_URI /
_USER / _PASSWORD. Prints the Neo4j server's memory settings, one line per run,
and a summary of medians, with the FalkorDB / Neo4j ratio.

Neo4j loads faster with a heap larger than the test server's 1 GiB (less
garbage collection); the figures in the notes come from a server started with
    RAPPORT_NEO4J_HEAP=4g RAPPORT_NEO4J_PAGECACHE=2g scripts/neo4j-server start
and warmed up by a first run (the JVM compiles its hot paths then).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.backends import neo4j_memory, settings_for
from bench.machine import machine
from rapport.demo.seed import seed_demo
from rapport.graph.connect import store_session


async def _one_run(backend: str, customers: int, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        async with store_session(settings_for(backend, Path(tmp))) as store:
            report = await seed_demo(store, customers, seed, reset=True)
            await store.clear()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "elements": report.nodes + report.relationships,
        "seconds": report.seconds,
        "per_second": report.elements_per_second,
        "peak_rss_mib": peak_kib / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="customer counts, comma-separated")
    parser.add_argument("--backends", default="falkordb,neo4j")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", nargs=2, metavar=("BACKEND", "CUSTOMERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_one_run(args.child[0], int(args.child[1]), args.seed))))
        return

    print(f"machine: {machine()}", flush=True)
    if "neo4j" in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
            print(f"neo4j server: {asyncio.run(neo4j_memory(Path(tmp)))}")
    medians: dict[tuple[str, int], float] = {}
    print(
        f"{'backend':<9} {'customers':>9} {'elements':>10} {'seconds':>8} {'elements/s':>11} {'peak RSS':>9}"
    )
    for customers in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            rates = []
            for _ in range(args.repeat):
                command = [sys.executable, "-m", "bench.ingest", "--seed", str(args.seed)]
                command += ["--child", backend, str(customers)]
                child = subprocess.run(command, capture_output=True, text=True, check=True)
                run = json.loads(child.stdout.strip().splitlines()[-1])
                rates.append(run["per_second"])
                print(
                    f"{backend:<9} {customers:>9,} {run['elements']:>10,} {run['seconds']:>8.1f} "
                    f"{run['per_second']:>11,.0f} {run['peak_rss_mib']:>7.0f}Mi",
                    flush=True,
                )
            medians[backend, customers] = statistics.median(rates)
    print("\nmedian elements/s")
    for (backend, customers), rate in medians.items():
        line = f"  {backend:<9} {customers:>9,}: {rate:>11,.0f}"
        if backend == "falkordb" and ("neo4j", customers) in medians:
            line += f"   (falkordb / neo4j = {rate / medians['neo4j', customers]:.2f})"
        print(line)


if __name__ == "__main__":
    main()
