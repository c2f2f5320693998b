"""Reasons: a score's largest feature contributions, said in words.

Contributions are LightGBM's per-feature SHAP values (``pred_contrib``), in
log-odds of the uncalibrated score: positive ones push the probability up.
Each column says its own value in words (see :class:`~rapport.scoring.frame.Column`);
columns that say the same thing (three views of one departed champion) are
merged into one reason with their contributions added.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapport.scoring.frame import FeatureFrame
from rapport.scoring.model import Predictions

TOP_REASONS = 3
_NEGLIGIBLE = 0.02  # log-odds below which a contribution is not a reason


@dataclass(frozen=True)
class Reason:
    """One reason: a sentence and its contribution (log-odds; positive raises the score)."""

    text: str
    contribution: float

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "contribution": self.contribution}

    def flipped(self) -> Reason:
        """The same reason for the complementary score (health is the opposite of churn risk)."""
        return Reason(self.text, -self.contribution)


def reasons(frame: FeatureFrame, predictions: Predictions, top: int = TOP_REASONS) -> list[list[Reason]]:
    """The ``top`` reasons of each example's score, largest first."""
    explain = [frame.column(name).explain for name in predictions.columns]
    contributions = predictions.contributions[:, :-1]  # the last column is the base value
    order = np.argsort(-np.abs(contributions), axis=1)
    out = []
    for i in range(len(frame)):
        row = frame.row(i)
        merged: dict[str, float] = {}
        for j in order[i]:
            value = float(contributions[i, j])
            if abs(value) < _NEGLIGIBLE:
                break
            text = explain[j](row)
            if text not in merged and len(merged) == top:
                continue
            merged[text] = merged.get(text, 0.0) + value
        ranked = sorted(merged.items(), key=lambda item: -abs(item[1]))
        out.append([Reason(_sentence(text), round(value, 3)) for text, value in ranked[:top]])
    return out


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
