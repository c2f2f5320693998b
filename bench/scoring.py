"""Scoring benchmark: the three models evaluated on the demo graph, and the time to rescore it all.

    .venv/bin/python -m bench.scoring                        # 100,000 customers
    .venv/bin/python -m bench.scoring --customers 10000
    .venv/bin/python -m bench.algorithms --sections scoring

The demo graph of ``--customers`` customers is seeded into a fresh embedded
FalkorDB (a temporary data directory; never the shared Neo4j: the models do
not depend on the backend). Each target (churn, deal, lead) is trained on the
planted truth with its time split (``rapport train``), and its evaluation
report printed: ROC AUC, PR AUC, Brier score and calibration of the model with
graph features next to its tabular-only twin, and the ceiling (the AUC of the
planted probability itself on the same test set: the noise the generator adds
on purpose is beyond any model). Then ``rapport score`` scores everything
twice in the benchmark's own process, after all that training: first onto a
graph without scores (every score is new, so every scored record also gets an
outbox event), then again (scores already there: only the moves of at least
0.01 get events); and a third time as a user runs it, ``rapport score`` in a
process of its own (its start-up and the database's load from disk included,
none of the training's leftovers). Before scoring, ``rapport embed``
stores an embedding model, as a deployment would run it (nightly, say): the
lookalike features then only run it, instead of training one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from bench.algorithms import Figure
from bench.backends import settings_for
from bench.machine import machine
from rapport.algorithms.embeddings import embed
from rapport.algorithms.gnn_config import TrainingConfig
from rapport.demo.seed import seed_demo
from rapport.graph.connect import store_session
from rapport.scoring.score import ScoreRun, score
from rapport.scoring.targets import KINDS, Kind
from rapport.scoring.train import TrainingReport, train

AUC_TARGETS = {"churn": 0.90, "deal": 0.85, "lead": 0.85}
GRAPH_GAIN_TARGET = 0.05
RESCORE_TARGET_S = 60.0  # 100,000 customers


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _summary(reports: Mapping[Kind, TrainingReport]) -> str:
    lines = [
        f"  {'target':<7} {'AUC':>7} {'tabular':>8} {'gain':>7} {'ceiling':>8}   "
        f"{'AUC target':<18} gain target >= {GRAPH_GAIN_TARGET}"
    ]
    for kind, r in reports.items():
        gain = r.with_graph.roc_auc - r.tabular.roc_auc
        ceiling = f"{r.ceiling:.4f}" if r.ceiling is not None else "-"
        auc, tabular = r.with_graph.roc_auc, r.tabular.roc_auc
        lines.append(
            f"  {kind:<7} {auc:>7.4f} {tabular:>8.4f} {gain:>+7.4f} {ceiling:>8}   "
            f">= {AUC_TARGETS[kind]}: {_verdict(auc >= AUC_TARGETS[kind]):<10} "
            f"{_verdict(gain >= GRAPH_GAIN_TARGET)}"
        )
    return "\n".join(lines)


def _rescoring(runs: list[ScoreRun], seconds: float, which: str, customers: int) -> Figure:
    records = sum(w.records for run in runs for w in run.written.values())
    events = sum(w.events for run in runs for w in run.written.values())
    note = "; ".join(run.text() for run in runs) + f"; {events:,} events"
    target = RESCORE_TARGET_S if customers == 100_000 else None
    return Figure(
        f"rescoring everything, {which}",
        f"{customers:,} customers, {records:,} records",
        seconds,
        target,
        note,
    )


async def _figures(customers: int, seed: int, data_dir: Path) -> list[Figure]:
    async with store_session(settings_for("falkordb", data_dir)) as store:
        await seed_demo(store, customers, seed, reset=True)
        reports, figures = {}, []
        for kind in KINDS:
            reports[kind] = await train(store, kind, data_dir=data_dir, label="truth", seed=seed)
            print(reports[kind].text(), flush=True)
            figures.append(Figure(f"training {kind}", f"{customers:,} customers", reports[kind].seconds))
        print(_summary(reports), flush=True)
        started = time.perf_counter()
        embedded = await embed(store, TrainingConfig(), model_dir=data_dir / "models")
        figures.append(
            Figure("embedding (rapport embed)", f"{customers:,} customers", time.perf_counter() - started)
        )
        print(f"embedding model {embedded.version} stored: scoring embeds with it", flush=True)
        for which in ("first scores", "scores again"):
            started = time.perf_counter()
            runs = await score(store)
            figures.append(_rescoring(runs, time.perf_counter() - started, which, customers))
    return figures


def _command_rescoring(data_dir: Path, customers: int) -> Figure:
    """``rapport score`` as a user runs it: its own process, start-up and database load included."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rapport", "score"],
        env={**os.environ, "RAPPORT_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    target = RESCORE_TARGET_S if customers == 100_000 else None
    note = "; ".join(done.stdout.splitlines())
    return Figure("rescoring everything, rapport score", f"{customers:,} customers", seconds, target, note)


def scoring_section(args: argparse.Namespace) -> list[Figure]:
    """Train and evaluate the three models, then rescore the whole demo graph (twice in this process,
    then once more with ``rapport score`` in its own)."""
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        figures = asyncio.run(_figures(args.customers, args.seed, Path(tmp)))
        return [*figures, _command_rescoring(Path(tmp), args.customers)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000, help="demo graph size")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    for figure in scoring_section(args):
        print(figure.line(), flush=True)


if __name__ == "__main__":
    main()
