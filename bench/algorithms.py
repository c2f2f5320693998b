"""Relationship-intelligence benchmark: medians and sizes, with the issue's targets beside them.

    .venv/bin/python -m bench.algorithms                           # every section, both backends
    .venv/bin/python -m bench.algorithms --backend falkordb
    .venv/bin/python -m bench.algorithms --sections pagerank --repeat 5

Sections, in order (each prints its own rows; add one by writing a function
``(args) -> list[Figure]`` and naming it in ``SECTIONS``):

- ``projection``: the demo graph of ``--customers`` customers (100,000 gives
  about 1.5M relationships) is seeded into a fresh embedded FalkorDB (a
  temporary data directory) or into the Neo4j named by RAPPORT_NEO4J_URI /
  _USER / _PASSWORD, whose graph is replaced and left in place; then
  :data:`PROJECTION` (five relationship types, about 1M relationships at
  100,000 customers, KNOWS weighted) is projected out of it ``--repeat`` times.
- ``pagerank``: a synthetic graph of 1,000,000 nodes and 5,000,000 uniformly
  random relationships as a CSR matrix; PageRank with networkx's parameters
  (damping 0.85, tol 1e-6, 100 iterations at most), then to a tight tolerance,
  then networkx's ``pagerank`` once on the same graph (as a ``DiGraph`` built
  beforehand, untimed), and the ratio of the two.
- ``embeddings``: GraphSAGE training and inference on the demo graph of
  ``--customers`` customers in a fresh embedded FalkorDB, whatever
  ``--backend`` says (see :mod:`bench.embeddings`).
- ``scoring``: the churn, deal and lead models trained and evaluated (with
  and without graph features) on the demo graph of ``--customers`` customers
  in a fresh embedded FalkorDB, then the time to rescore all of it (see
  :mod:`bench.scoring`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
from scipy import sparse

from bench.backends import BACKENDS, settings_for
from bench.machine import machine
from rapport.algorithms.influence import pagerank
from rapport.algorithms.projection import Projection, project
from rapport.algorithms.projection_spec import NodeSpec, ProjectionSpec, RelationshipSpec
from rapport.demo.seed import seed_demo
from rapport.graph.connect import store_session

PROJECTION = ProjectionSpec(
    nodes=(NodeSpec("Customer"), NodeSpec("Account"), NodeSpec("Campaign"), NodeSpec("Activity")),
    relationships=(
        RelationshipSpec("WORKS_AT", "Customer", "Account"),
        RelationshipSpec("KNOWS", "Customer", "Customer", weight="strength"),
        RelationshipSpec("TOUCHED", "Campaign", "Customer"),
        RelationshipSpec("WITH", "Activity", "Customer"),
        RelationshipSpec("RELATES_TO", "Activity", "Account"),
    ),
)
PROJECTION_TARGET_S = 10.0  # 1,000,000 relationships out of each backend
PAGERANK_TARGET_S = 1.0  # 1,000,000 nodes, 5,000,000 relationships


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured row: what, at which size, the median seconds, and the target if there is one."""

    what: str
    size: str
    seconds: float
    target_s: float | None = None
    note: str = ""

    def line(self) -> str:
        verdict = ""
        if self.target_s is not None:
            ok = "met" if self.seconds <= self.target_s else "MISSED"
            verdict = f"target <= {self.target_s:g} s: {ok}"
        return f"  {self.what:<44} {self.size:<30} {self.seconds:>9.3f} s   {verdict:<22} {self.note}"


def _median_run(repeat: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(repeat))


# -- projection ---------------------------------------------------------------------------


def _array_mib(projection: Projection) -> float:
    arrays = [table.ids.ids for table in projection.nodes.values()]
    arrays += [a for t in projection.relationships.values() for a in (t.source, t.target, t.weight)]
    return sum(a.nbytes for a in arrays) / 2**20


async def _projection_figures(backend: str, customers: int, repeat: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        async with store_session(settings_for(backend, Path(tmp))) as store:
            seeded = await seed_demo(store, customers, 42, reset=True)
            seconds, last = [], None
            for _ in range(repeat):
                started = time.perf_counter()
                last = await project(store, PROJECTION)
                seconds.append(time.perf_counter() - started)
    assert last is not None
    median = statistics.median(seconds)
    size = f"{last.relationship_count:,} rels, {last.node_count:,} nodes"
    note = (
        f"{last.relationship_count / median:,.0f} rels/s; arrays {_array_mib(last):.0f} MiB; "
        f"of a graph of {seeded.relationships:,} rels"
    )
    return [Figure(f"projection out of {backend}", size, median, PROJECTION_TARGET_S, note)]


def projection_section(args: argparse.Namespace) -> list[Figure]:
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    return [
        f
        for backend in backends
        for f in asyncio.run(_projection_figures(backend, args.customers, args.repeat))
    ]


# -- pagerank -----------------------------------------------------------------------------


def _synthetic(nodes: int, relationships: int, seed: int) -> sparse.csr_array:
    rng = np.random.default_rng(seed)
    source = rng.integers(0, nodes, relationships, dtype=np.int32)
    target = rng.integers(0, nodes, relationships, dtype=np.int32)
    return sparse.coo_array((np.ones(relationships), (source, target)), shape=(nodes, nodes)).tocsr()


def pagerank_section(args: argparse.Namespace) -> list[Figure]:
    nodes, relationships = 1_000_000, 5_000_000
    matrix = _synthetic(nodes, relationships, args.seed)
    size = f"{nodes:,} nodes, {matrix.nnz:,} rels"
    figures = []
    for label, tol in (("pagerank, networkx's parameters", 1e-6), ("pagerank, tol 1e-10", 1e-10)):
        iterations = pagerank(matrix, tol=tol).iterations

        def run(tol: float = tol) -> float:
            started = time.perf_counter()
            pagerank(matrix, tol=tol)
            return time.perf_counter() - started

        seconds = _median_run(args.repeat, run)
        note = f"{iterations} iteration(s), {1000 * seconds / iterations:.0f} ms each with the setup"
        figures.append(Figure(label, size, seconds, PAGERANK_TARGET_S, note))
    ours = pagerank(matrix).scores

    coo = matrix.tocoo()
    graph = nx.DiGraph()
    graph.add_nodes_from(range(nodes))
    graph.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    started = time.perf_counter()
    theirs = nx.pagerank(graph)
    seconds = time.perf_counter() - started
    difference = max(abs(ours[i] - theirs[i]) for i in range(nodes))
    ratio = seconds / figures[0].seconds
    note = f"{ratio:.0f}x ours at its parameters (one run); max |difference| {difference:.1e}"
    figures.append(Figure("networkx pagerank, same parameters", size, seconds, None, note))
    return figures


# -- embeddings ---------------------------------------------------------------------------


def embeddings_section(args: argparse.Namespace) -> list[Figure]:
    """GraphSAGE training and inference (:mod:`bench.embeddings`, which imports torch)."""
    from bench.embeddings import embeddings_section as run

    return run(args)


# -- scoring ------------------------------------------------------------------------------


def scoring_section(args: argparse.Namespace) -> list[Figure]:
    """The churn, deal and lead models evaluated, and rescoring everything (:mod:`bench.scoring`)."""
    from bench.scoring import scoring_section as run

    return run(args)


SECTIONS: dict[str, Callable[[argparse.Namespace], list[Figure]]] = {
    "projection": projection_section,
    "pagerank": pagerank_section,
    "embeddings": embeddings_section,
    "scoring": scoring_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS)
    )
    parser.add_argument("--customers", type=int, default=100_000, help="demo graph size for the projection")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is printed)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    for name in args.sections.split(","):
        if name not in SECTIONS:
            sys.exit(f"bench: unknown section {name!r}; known: {', '.join(SECTIONS)}")
        print(f"\n{name}", flush=True)
        for figure in SECTIONS[name](args):
            print(figure.line(), flush=True)


if __name__ == "__main__":
    main()
