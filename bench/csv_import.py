"""CSV import benchmark: `rapport import`'s upserts, first into an empty graph, then again.

    .venv/bin/python -m bench.csv_import                           # 20K accounts, 40K contacts
    .venv/bin/python -m bench.csv_import --accounts 100000 --repeat 3

Generates an export of accounts and contacts (each contact ``WORKS_AT`` an
account, with a title), then per backend and run: imports it into an empty
graph (every node created and linked, with a change event each) and imports
it again (nothing changes: no write, no event). Prints each run's seconds and
records per second, the medians, and the FalkorDB / Neo4j ratio. Neo4j is
the one named by RAPPORT_NEO4J_URI / _USER / _PASSWORD, cleared before each run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import tempfile
import time
from pathlib import Path

from bench.backends import settings_for
from bench.machine import machine
from rapport.graph.connect import store_session
from rapport.importer.mapping import load_mapping
from rapport.importer.run import run_import
from rapport.migrations.runner import MigrationRunner
from rapport.schema.validation import Schema

_MAPPING = """
[[entity]]
label = "Account"
file = "accounts.csv"
key = "Id"
fields = { name = "Name", industry = "Industry" }

[[entity]]
label = "Customer"
file = "contacts.csv"
key = "Id"
fields = { firstName = "First", lastName = "Last", email = "Email" }
[[entity.link]]
type = "WORKS_AT"
column = "Company"
to = "Account"
fields = { title = "Title" }
"""


def write_export(folder: Path, accounts: int, contacts: int) -> Path:
    """The export's files and its mapping in ``folder``; the mapping's path."""
    with (folder / "accounts.csv").open("w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["Id", "Name", "Industry"])
        rows.writerows([f"A{i}", f"Account {i}", "Software"] for i in range(accounts))
    with (folder / "contacts.csv").open("w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["Id", "First", "Last", "Email", "Company", "Title"])
        rows.writerows(
            [f"C{i}", f"First{i}", f"Last{i}", f"c{i}@example.com", f"A{i % accounts}", "Engineer"]
            for i in range(contacts)
        )
    (folder / "mapping.toml").write_text(_MAPPING)
    return folder / "mapping.toml"


async def _one_run(backend: str, mapping: Path) -> tuple[float, float, int]:
    """Seconds of the first import and of the second, and the change events recorded."""
    schema = Schema()
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        async with store_session(settings_for(backend, Path(tmp))) as store:
            await store.clear()
            await MigrationRunner(store).migrate()
            seconds = []
            for _ in range(2):
                started = time.perf_counter()
                await run_import(store, load_mapping(mapping, schema), schema)
                seconds.append(time.perf_counter() - started)
            (events,) = await store.read("MATCH (o:_Outbox) RETURN sum(size(o.payloads)) AS n")
            await store.clear()
    return seconds[0], seconds[1], int(events["n"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--contacts-per-account", type=int, default=2)
    parser.add_argument("--backends", default="falkordb,neo4j")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    contacts = args.accounts * args.contacts_per_account
    records = args.accounts + 2 * contacts  # nodes, and a WORKS_AT per contact
    print(f"machine: {machine()}", flush=True)
    print(f"export: {args.accounts:,} accounts, {contacts:,} contacts: {records:,} nodes and relationships")
    print(f"{'backend':<9} {'first s':>8} {'records/s':>10} {'again s':>8} {'records/s':>10} {'events':>8}")
    medians: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="rapport-export-") as folder:
        mapping = write_export(Path(folder), args.accounts, contacts)
        for backend in args.backends.split(","):
            firsts, agains = [], []
            for _ in range(args.repeat):
                first, again, events = asyncio.run(_one_run(backend, mapping))
                firsts.append(first)
                agains.append(again)
                print(
                    f"{backend:<9} {first:>8.1f} {records / first:>10,.0f} "
                    f"{again:>8.1f} {records / again:>10,.0f} {events:>8,}",
                    flush=True,
                )
            medians[backend] = (statistics.median(firsts), statistics.median(agains))
    print("\nmedian seconds (first import, again)")
    for backend, (first, again) in medians.items():
        line = f"  {backend:<9} {first:>6.1f} {again:>6.1f}"
        if backend == "falkordb" and "neo4j" in medians:
            neo4j_first, neo4j_again = medians["neo4j"]
            line += f"   (falkordb / neo4j = {first / neo4j_first:.2f}, {again / neo4j_again:.2f})"
        print(line)


if __name__ == "__main__":
    main()
