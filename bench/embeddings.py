"""GNN embedding benchmark: GraphSAGE training and inference on the demo graph, with the targets.

    .venv/bin/python -m bench.embeddings                     # 100,000 customers, 2 torch threads
    .venv/bin/python -m bench.embeddings --customers 10000 --epochs 10
    .venv/bin/python -m bench.algorithms --sections embeddings

The demo graph of ``--customers`` customers is seeded into a fresh embedded
FalkorDB (a temporary data directory; never Neo4j, whatever ``--backend``
says: the model does not depend on the backend, and the shared Neo4j is no
place for a graph this size). Then ``rapport embed`` runs in code: the
projection of customers, accounts, deals, tickets, campaigns, products and
staff, GraphSAGE training (feature fitting and saving the model included),
inference over the whole graph, and writing and indexing the vectors; then
the same with the trained model reused (inference only, ``--repeat`` times)
and ``similar(k=10)`` through the vector index. Torch is held to
``--threads`` threads (2 by default, as in the target) on the CPU, or uses
the GPU when there is one. The machine's load average is printed beside
the figures: other processes on the same cores slow training down.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench.algorithms import Figure
from bench.backends import settings_for
from bench.machine import machine
from rapport.algorithms.embeddings import embed
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.algorithms.similarity import similar
from rapport.demo.seed import seed_demo
from rapport.graph.connect import store_session

TRAIN_TARGET_S = 120.0  # 100,000 customers, 2 CPU cores
INFER_TARGET_S = 20.0
SIMILAR_QUERIES = 50


async def _figures(customers: int, config: TrainingConfig, repeat: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        settings = settings_for("falkordb", Path(tmp))
        async with store_session(settings) as store:
            seeded = await seed_demo(store, customers, 42, reset=True)
            models = Path(tmp) / "models"
            trained = await embed(store, config, model_dir=models)
            load = os.getloadavg()[0]
            reused = [await embed(store, config, model_dir=models, retrain=False) for _ in range(repeat)]
            rows = await store.read("MATCH (c:Customer) RETURN c.id AS id LIMIT $n", {"n": SIMILAR_QUERIES})
            latencies = []
            for row in rows:
                started = time.perf_counter()
                await similar(store, "Customer", row["id"], k=10)
                latencies.append(time.perf_counter() - started)
    graph = f"{trained.nodes:,} nodes, {trained.relationships:,} rels"
    embedded = sum(trained.embedded.values())
    where = trained.device
    if where == "cpu":
        where += f", {torch.get_num_threads()} threads, load average {load:.1f}"
    infer = statistics.median(report.seconds["infer"] for report in reused)
    write = statistics.median(report.seconds["write"] for report in reused)
    return [
        Figure(
            "embedding projection (falkordb)",
            graph,
            trained.seconds["project"],
            note=f"of a graph of {seeded.nodes:,} nodes, {seeded.relationships:,} rels",
        ),
        Figure(
            f"GraphSAGE training, {config.epochs} epochs",
            graph,
            trained.seconds["train"],
            TRAIN_TARGET_S,
            f"{where}; {trained.seconds['train'] / config.epochs:.2f} s/epoch; "
            f"{config.dimensions} dims; final loss {trained.loss:.3f}; one run",
        ),
        Figure(
            "GraphSAGE inference (trained model)",
            graph,
            infer,
            INFER_TARGET_S,
            f"{where}; {embedded:,} customer and account vectors",
        ),
        Figure(
            "write and index the vectors (falkordb)",
            f"{embedded:,} x {config.dimensions} floats",
            write,
            note=f"{embedded / write:,.0f} vectors/s",
        ),
        Figure(
            "similar(k=10) through the vector index",
            f"{trained.embedded['Customer']:,} customers",
            statistics.median(latencies),
            note=f"median of {len(latencies)} queries",
        ),
    ]


def embeddings_section(args: argparse.Namespace) -> list[Figure]:
    """The figures of GraphSAGE embeddings on the demo graph of ``args.customers`` customers."""
    torch.set_num_threads(getattr(args, "threads", 2))
    config = TrainingConfig(
        dimensions=getattr(args, "dimensions", TrainingConfig.dimensions),
        epochs=getattr(args, "epochs", TrainingConfig.epochs),
        seed=args.seed,
    )
    return asyncio.run(_figures(args.customers, config, args.repeat))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000, help="demo graph size")
    parser.add_argument("--epochs", type=int, default=TrainingConfig.epochs)
    parser.add_argument("--dimensions", type=int, default=TrainingConfig.dimensions)
    parser.add_argument("--threads", type=int, default=2, help="torch threads on the CPU")
    parser.add_argument("--repeat", type=int, default=3, help="inference runs (the median is printed)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    print("\nembeddings", flush=True)
    for figure in embeddings_section(args):
        print(figure.line(), flush=True)


if __name__ == "__main__":
    main()
