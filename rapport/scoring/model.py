"""Gradient-boosted models with calibrated probabilities, a confidence, and per-feature contributions.

A model is a LightGBM booster fitted on the oldest examples (boosting stops
early on the latest fifth of them, then the booster is refitted on all of
them), a calibration map fitted on a later time slice, and a confidence table
from that slice. It serialises to JSON (no pickles): the booster's own text
format plus the maps.

**Calibration**: isotonic regression of the outcome on the booster's raw
score, turned into a strictly increasing piecewise-linear map through the
centre of each isotonic block (so that scores keep their order and ties do
not appear); Platt scaling where the calibration slice is small.

**Confidence** (0 to 1) says how well supported a probability is: one minus
the width of the 90% interval of the observed rate among calibration examples
with similar probabilities (wide when few such examples exist), scaled by the
share of the record's feature groups with any data (a record with no
activities, tickets or touches at all is scored on priors rather than
evidence): ``support * (0.5 + 0.5 * coverage)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import orjson
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from rapport.scoring.errors import ScoringError
from rapport.scoring.frame import Column, FeatureFrame

_Z90 = 1.645
_MIN_ISOTONIC = 500  # calibration examples below which Platt scaling is used
_MAX_ROUNDS = 2000


@dataclass(frozen=True)
class Predictions:
    """Calibrated probabilities, confidences and per-column contributions (log-odds, before
    calibration; the last column of ``contributions`` is the base value)."""

    probability: np.ndarray
    confidence: np.ndarray
    contributions: np.ndarray
    columns: list[str]


@dataclass
class Model:
    """A fitted, calibrated model; ``info`` holds its metadata (kind, version, metrics, ...)."""

    columns: list[str]
    categories: dict[str, list[str]]
    booster: lgb.Booster
    calibration: dict[str, Any]
    confidence: dict[str, list[float]]
    info: dict[str, Any] = field(default_factory=dict)

    def matrix(self, frame: FeatureFrame) -> np.ndarray:
        """The model's inputs from ``frame``: its columns in order, categories as their codes."""
        missing = [c for c in self.columns if c not in {col.name for col in frame.columns()}]
        if missing:
            raise ScoringError(f"the features lack columns the model was trained on: {', '.join(missing)}")
        return _encode(frame, self.columns, self.categories)

    def raw(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(x, raw_score=True), dtype=float)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        c = self.calibration
        if c["method"] == "platt":
            return _sigmoid(c["a"] * raw + c["b"])
        return np.asarray(np.interp(raw, c["x"], c["y"]), dtype=float)

    def probability(self, frame: FeatureFrame) -> np.ndarray:
        """Calibrated probabilities only (contributions are costly: this is for evaluation)."""
        return self.calibrate(self.raw(self.matrix(frame)))

    def predict(self, frame: FeatureFrame) -> Predictions:
        x = self.matrix(frame)
        probability = self.calibrate(self.raw(x))
        contributions = np.asarray(self.booster.predict(x, pred_contrib=True), dtype=float)
        edges, support = self.confidence["edges"], self.confidence["support"]
        bins = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0, len(support) - 1)
        confidence = np.asarray(support)[bins] * (0.5 + 0.5 * frame.groups_with_data())
        return Predictions(probability, np.round(confidence, 3), contributions, self.columns)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "columns": self.columns,
                "categories": self.categories,
                "booster": self.booster.model_to_string(),
                "calibration": self.calibration,
                "confidence": self.confidence,
                "info": self.info,
            },
            option=orjson.OPT_SERIALIZE_NUMPY,
        )

    @classmethod
    def from_json(cls, data: bytes) -> Model:
        d = orjson.loads(data)
        booster = lgb.Booster(model_str=d["booster"])
        return cls(d["columns"], d["categories"], booster, d["calibration"], d["confidence"], d["info"])


def fit(
    frame: FeatureFrame,
    outcome: np.ndarray,
    fit_rows: np.ndarray,
    calibration_rows: np.ndarray,
    columns: Sequence[Column],
    *,
    seed: int = 42,
) -> Model:
    """Fit a booster on ``fit_rows`` (oldest first) over ``columns``; calibrate on ``calibration_rows``."""
    names = [c.name for c in columns]
    categories = {
        c.name: sorted({str(v) for v in frame.values(c.name)[fit_rows] if v is not None})
        for c in columns
        if c.categorical
    }
    x = _encode(frame, names, categories)
    categorical = [i for i, c in enumerate(columns) if c.categorical]
    params = {
        "objective": "binary",
        "learning_rate": 0.03,
        "num_leaves": 15,
        "max_depth": 5,
        "min_data_in_leaf": int(np.clip(len(fit_rows) // 50, 5, 50)),
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "cat_smooth": 10.0,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": os.cpu_count() or 1,
        "verbose": -1,
    }
    cut = int(len(fit_rows) * 0.8)
    learn, stop = fit_rows[:cut], fit_rows[cut:]
    rounds = _MAX_ROUNDS
    if len(np.unique(outcome[stop])) == 2:
        trial = lgb.train(
            params,
            _dataset(x[learn], outcome[learn], names, categorical),
            _MAX_ROUNDS,
            valid_sets=[_dataset(x[stop], outcome[stop], names, categorical)],
            callbacks=[lgb.early_stopping(100, verbose=False)],
        )
        rounds = max(20, round(trial.best_iteration * 1.1))
    booster = lgb.train(params, _dataset(x[fit_rows], outcome[fit_rows], names, categorical), rounds)
    raw = np.asarray(booster.predict(x[calibration_rows], raw_score=True), dtype=float)
    calibration = _calibration(raw, outcome[calibration_rows])
    model = Model(names, categories, booster, calibration, {"edges": [0.0], "support": [0.0]})
    model.confidence = _confidence_table(model.calibrate(raw), outcome[calibration_rows])
    return model


def _dataset(x: np.ndarray, y: np.ndarray, names: list[str], categorical: list[int]) -> lgb.Dataset:
    return lgb.Dataset(x, y, feature_name=names, categorical_feature=categorical, free_raw_data=False)


def _encode(frame: FeatureFrame, names: Sequence[str], categories: dict[str, list[str]]) -> np.ndarray:
    x = np.empty((len(frame), len(names)))
    for j, name in enumerate(names):
        values = frame.values(name)
        if name in categories:
            code = {v: float(k) for k, v in enumerate(categories[name])}
            x[:, j] = [code.get(str(v), np.nan) if v is not None else np.nan for v in values]
        else:
            x[:, j] = values.astype(float)
    return x


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _calibration(raw: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    if len(raw) < _MIN_ISOTONIC or min(y.sum(), len(y) - y.sum()) < 30:
        platt = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)
        return {"method": "platt", "a": float(platt.coef_[0, 0]), "b": float(platt.intercept_[0])}
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit_transform(raw, y)
    levels = np.unique(fitted)
    centres = np.array([raw[fitted == level].mean() for level in levels])
    # Keep the extremes a little off 0 and 1: a block of all-negative examples is evidence, not proof.
    bounded = np.clip(levels, 0.5 / len(y), 1 - 0.5 / len(y))
    return {"method": "isotonic", "x": centres.tolist(), "y": bounded.tolist()}


def _confidence_table(probability: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """Per probability band of the calibration slice: 1 - the width of the Wilson 90% interval of its
    observed rate."""
    bins = max(1, min(bins, len(y) // 30))
    edges = np.unique(np.quantile(probability, np.linspace(0, 1, bins + 1)[:-1]))
    edges[0] = 0.0
    band = np.searchsorted(edges, probability, side="right") - 1
    support = []
    for b in range(len(edges)):
        n = max(int((band == b).sum()), 1)
        rate = float(y[band == b].mean()) if (band == b).any() else 0.5
        half = _Z90 * np.sqrt(rate * (1 - rate) / n + _Z90**2 / (4 * n * n)) / (1 + _Z90**2 / n)
        support.append(round(float(max(0.0, 1 - 2 * half)), 4))
    return {"edges": edges.tolist(), "support": support}
