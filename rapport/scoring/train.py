"""``rapport train``: label, extract, fit with and without graph features, evaluate, save.

The model that is saved (and scores) is the one with every column group; the
tabular-only twin is fitted on the same split only to show, in the report,
what the graph adds.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import roc_auc_score

from rapport.collector import collector_paused
from rapport.graph.types import GraphStore
from rapport.graph.values import epoch_millis
from rapport.scoring.frame import FeatureSource, extract_frame
from rapport.scoring.labels import LabelledExamples, LabelSource, default_label_source, labelled_examples
from rapport.scoring.metrics import Evaluation, evaluate, report
from rapport.scoring.model import fit
from rapport.scoring.registry import ModelRecord, new_version, save_model
from rapport.scoring.targets import TARGETS, Kind, with_sources


@dataclass(frozen=True)
class TrainingReport:
    """What ``rapport train`` did and how well the model does on the latest time slice."""

    record: ModelRecord
    labelled: LabelledExamples
    with_graph: Evaluation
    tabular: Evaluation
    ceiling: float | None  # AUC of the demo's planted probability on the test set
    columns: dict[str, int]  # columns per family
    seconds: float

    def text(self) -> str:
        sizes = ", ".join(
            f"{s} {int((self.labelled.split == s).sum())}" for s in ("fit", "calibration", "test")
        )
        lines = [
            f"model {self.record.version} ({self.record.kind}), saved to {self.record.file}",
            f"  examples: {sizes}; {self.labelled.how}",
            f"  columns: {self.columns['tabular']} tabular + {self.columns['graph']} graph",
            report("  evaluation on the test set", self.with_graph, self.tabular).replace("\n", "\n  "),
        ]
        if self.ceiling is not None:
            lines.append(
                f"  ceiling: the planted probability itself has ROC AUC {self.ceiling:.4f} on this test set"
            )
        lines.append(f"  trained in {self.seconds:.1f}s")
        return "\n".join(lines)


async def train(
    store: GraphStore,
    kind: Kind,
    *,
    data_dir: Path,
    label: LabelSource | None = None,
    cutoff: int | None = None,
    horizon_days: int = 90,
    seed: int = 42,
    extra_sources: Sequence[FeatureSource] = (),
) -> TrainingReport:
    """Train, evaluate and save a ``kind`` model (see :mod:`rapport.scoring.labels` for the split).

    Without ``label``, the demo's planted truth is used where the graph has it, else history.
    """
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    target = with_sources(TARGETS[kind], *extra_sources)
    label = label or await default_label_source(store, target)
    with collector_paused():
        labelled = await labelled_examples(store, target, label, cutoff, horizon_days)
        frame = await extract_frame(store, labelled.examples, target.sources)
    fit_rows, calibration_rows, test_rows = (labelled.part(s) for s in ("fit", "calibration", "test"))
    outcome = labelled.outcome
    model = fit(frame, outcome, fit_rows, calibration_rows, frame.columns(), seed=seed)
    baseline = fit(frame, outcome, fit_rows, calibration_rows, frame.columns(("tabular",)), seed=seed)
    with_graph = evaluate(outcome[test_rows], model.probability(frame)[test_rows])
    tabular = evaluate(outcome[test_rows], baseline.probability(frame)[test_rows])
    ceiling = None
    if labelled.planted is not None:
        ceiling = round(float(roc_auc_score(outcome[test_rows], labelled.planted[test_rows])), 4)
    model.info = {
        "kind": kind,
        "version": new_version(kind, now),
        "created": epoch_millis(now),
        "label_source": label,
        "cutoff": labelled.cutoff,
        "horizon_days": horizon_days,
        "split": labelled.how,
        "metrics": with_graph.as_dict(),
        "baseline_metrics": tabular.as_dict(),
        "families": {c.name: g.family for g in frame.groups for c in g.columns},
    }
    record = await save_model(store, model, data_dir)
    columns = {f: len(frame.columns((f,))) for f in ("tabular", "graph")}
    return TrainingReport(
        record, labelled, with_graph, tabular, ceiling, columns, time.perf_counter() - started
    )
