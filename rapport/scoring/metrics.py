"""Evaluation: ROC AUC, PR AUC, Brier score and a calibration table, side by side for two models."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


@dataclass(frozen=True)
class CalibrationBin:
    """Examples whose predicted probability fell in ``[low, high)``: how many, predicted vs observed."""

    low: float
    high: float
    count: int
    predicted: float
    observed: float


@dataclass(frozen=True)
class Evaluation:
    """How one model did on a test set."""

    examples: int
    positives: int
    roc_auc: float
    pr_auc: float
    brier: float
    calibration: list[CalibrationBin]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def evaluate(outcome: np.ndarray, probability: np.ndarray, bins: int = 10) -> Evaluation:
    """Metrics of ``probability`` against ``outcome`` (0/1); calibration in ``bins`` equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0, bins - 1)
    table = [
        CalibrationBin(
            round(float(edges[b]), 2),
            round(float(edges[b + 1]), 2),
            int((which == b).sum()),
            round(float(probability[which == b].mean()), 4),
            round(float(outcome[which == b].mean()), 4),
        )
        for b in range(bins)
        if (which == b).any()
    ]
    return Evaluation(
        examples=len(outcome),
        positives=int(outcome.sum()),
        roc_auc=round(float(roc_auc_score(outcome, probability)), 4),
        pr_auc=round(float(average_precision_score(outcome, probability)), 4),
        brier=round(float(brier_score_loss(outcome, probability)), 4),
        calibration=table,
    )


def report(title: str, with_graph: Evaluation, tabular: Evaluation) -> str:
    """The evaluation of a model and of its tabular-only twin, side by side, as text."""
    lines = [
        title,
        f"  test set: {with_graph.examples} examples, {with_graph.positives} positive "
        f"({with_graph.positives / max(with_graph.examples, 1):.1%})",
        f"  {'metric':<10} {'with graph':>11} {'tabular only':>13} {'difference':>11}",
    ]
    for name, better in (("roc_auc", 1), ("pr_auc", 1), ("brier", -1)):
        a, b = getattr(with_graph, name), getattr(tabular, name)
        lines.append(
            f"  {name:<10} {a:>11.4f} {b:>13.4f} {a - b:>+11.4f}{'' if (a - b) * better >= 0 else ' *'}"
        )
    lines.append("  calibration (with graph)     calibration (tabular only)")
    lines.append(f"  {'bin':<11} {'n':>5} {'pred':>6} {'obs':>6}   {'n':>5} {'pred':>6} {'obs':>6}")
    graph_bins = {(c.low, c.high): c for c in with_graph.calibration}
    tabular_bins = {(c.low, c.high): c for c in tabular.calibration}
    for low, high in sorted(graph_bins.keys() | tabular_bins.keys()):
        cells = [_cells(graph_bins.get((low, high))), _cells(tabular_bins.get((low, high)))]
        lines.append(f"  {low:.1f}-{high:.1f}     {cells[0]}   {cells[1]}")
    return "\n".join(lines)


def _cells(c: CalibrationBin | None) -> str:
    return f"{c.count:>5} {c.predicted:>6.3f} {c.observed:>6.3f}" if c else f"{'-':>5} {'':>6} {'':>6}"
