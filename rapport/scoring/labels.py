"""Labelled examples and their time split: from the demo's planted truth, or from history.

Every split is by time: a model is fitted on the oldest examples, calibrated
on later ones and evaluated on the latest, so the figures say how it does on
what comes after what it learnt from.

``truth`` (the demo graph): labels are the ``_Truth`` outcomes, which hold for
the period after the graph's last day. Accounts and leads are described as
of the cutoff and split by when the record was created (oldest 60% fit, next
20% calibrate, newest 20% test). Deals closed before the cutoff are described
just before they closed (fit, and the latest quarter of them calibrates);
deals open at the cutoff are described as of it and are the test set.

``history`` (any graph): labels come from the data itself.

- churn: an account churned when its status is ``churned``, at its last
  activity (its last sign of life; its ``updatedAt`` if it has none).
  Snapshots every ``horizon`` days back from the cutoff: at each, the accounts
  that existed (created, or first active, before it) and had not churned,
  labelled by whether they churned within the horizon. The cutoff's snapshot
  is the test set, the one before it calibrates, older ones fit.
- lead: a lead converted when its stage is past ``lead``, at its first
  ``converted`` campaign touch (its ``updatedAt`` if it has none); snapshots
  as for churn, of the people who were leads then.
- deal: every closed deal, described just before it closed; those closed
  before the cutoff fit and calibrate, those closed since are the test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from rapport.graph.types import GraphStore, Record
from rapport.scoring.account_features import CLOSED_AT
from rapport.scoring.batches import DAY_MS
from rapport.scoring.data_time import data_end
from rapport.scoring.errors import ScoringError
from rapport.scoring.frame import Examples
from rapport.scoring.lead_features import CONVERTED_AT, PAST_LEAD
from rapport.scoring.targets import Target

LabelSource = Literal["truth", "history"]
Split = Literal["fit", "calibration", "test"]
SPLITS: tuple[Split, ...] = ("fit", "calibration", "test")
_SNAPSHOTS = 6  # history snapshots of churn and leads: one test, one calibration, four to fit
_MIN_FIT = 20


@dataclass(frozen=True)
class LabelledExamples:
    """Examples with their outcome (0/1) and split; ``how`` says in one line how they were made.

    ``planted`` is the demo truth's own probability of each outcome, where there is
    one: no model can rank better, so its AUC is the ceiling reports compare with.
    """

    examples: Examples
    outcome: np.ndarray
    split: np.ndarray
    cutoff: int
    how: str
    planted: np.ndarray | None = None

    def part(self, split: Split) -> np.ndarray:
        """Row numbers of ``split``, oldest first."""
        rows = np.flatnonzero(self.split == split)
        return rows[np.argsort(self.examples.as_of[rows], kind="stable")]


async def default_label_source(store: GraphStore, target: Target) -> LabelSource:
    """``truth`` where the graph holds the demo's planted truth of ``target``, else ``history``."""
    rows = await store.read(
        "MATCH (t:_Truth {kind: $kind}) RETURN t.id AS id LIMIT 1", {"kind": target.truth_kind}
    )
    return "truth" if rows else "history"


async def labelled_examples(
    store: GraphStore, target: Target, source: LabelSource, cutoff: int | None, horizon_days: int
) -> LabelledExamples:
    """The labelled, time-split examples of ``target`` (see the module docstring)."""
    end = await data_end(store)
    horizon = horizon_days * DAY_MS
    if source == "truth":
        made = await _from_truth(store, target, cutoff or end)
    elif target.kind == "deal":
        made = await _deal_history(store, cutoff)
    else:
        made = await _snapshots(store, target, cutoff or end - horizon, horizon)
    _check(made, target, source)
    return made


async def _from_truth(store: GraphStore, target: Target, cutoff: int) -> LabelledExamples:
    rows = await store.read(
        f"MATCH (t:_Truth {{kind: $kind}}) MATCH (d:{target.label} {{id: t.entityId}}) "
        f"WHERE d.createdAt < $cutoff RETURN d.id AS id, t.outcome AS outcome, t.probability AS planted, "
        "d.createdAt AS created, "
        f"{CLOSED_AT if target.label == 'Deal' else 'null'} AS closed",
        {"kind": target.truth_kind, "cutoff": cutoff},
        timeout=300.0,
    )
    if not rows:
        raise ScoringError(
            f"no planted truth ({target.truth_kind}) in this graph: --label truth is for the demo graph "
            "(rapport seed); use --label history on your own data"
        )
    if target.kind == "deal":
        before = [r for r in rows if r["closed"] is not None and r["closed"] < cutoff]
        open_then = [r for r in rows if r["closed"] is None or r["closed"] >= cutoff]
        how = (
            f"planted truth; deals closed before {_day(cutoff)} described just before they closed (the "
            f"latest quarter of them calibrates); deals open on {_day(cutoff)} described as of it are the "
            "test set"
        )
        made = _deal_split(before, open_then, [cutoff] * len(open_then), cutoff, how)
        by_id = {r["id"]: r["planted"] for r in rows}
        return replace(made, planted=np.array([by_id[i] for i in made.examples.ids], dtype=float))
    rows.sort(key=lambda r: (r["created"], r["id"]))
    n = len(rows)
    split = np.array(["fit"] * n, dtype=object)
    split[int(n * 0.6) : int(n * 0.8)] = "calibration"
    split[int(n * 0.8) :] = "test"
    examples = Examples(target.label, [r["id"] for r in rows], np.full(n, cutoff, dtype=np.int64))
    outcome = np.array([float(bool(r["outcome"])) for r in rows])
    how = (
        f"planted truth; all described as of {_day(cutoff)}; split by creation date: oldest 60% fit, "
        "next 20% calibrate, newest 20% test"
    )
    planted = np.array([r["planted"] for r in rows], dtype=float)
    return LabelledExamples(examples, outcome, split, cutoff, how, planted)


async def _deal_history(store: GraphStore, cutoff: int | None) -> LabelledExamples:
    rows = await store.read(
        f"MATCH (d:Deal) WITH d, {CLOSED_AT} AS closed WHERE closed IS NOT NULL "
        "RETURN d.id AS id, closed, d.stage = 'closed_won' AS outcome",
        timeout=300.0,
    )
    if not rows:
        raise ScoringError("no closed deals (closed_won or closed_lost) to learn from")
    if cutoff is None:
        cutoff = int(np.quantile([r["closed"] for r in rows], 0.8))
    # Described just before they closed, test deals too: imported deals often lack their real
    # creation date, so "open at the cutoff" cannot be told.
    before = [r for r in rows if r["closed"] < cutoff]
    after = [r for r in rows if r["closed"] >= cutoff]
    how = (
        f"history; deals described just before they closed: those closed before {_day(cutoff)} fit "
        "(the latest quarter of them calibrates), those closed since are the test set"
    )
    return _deal_split(before, after, [r["closed"] for r in after], cutoff, how)


def _deal_split(
    before: Sequence[Record], test: Sequence[Record], test_as_of: Sequence[int], cutoff: int, how: str
) -> LabelledExamples:
    """Deals closed ``before`` the cutoff (fit, the latest quarter calibrates; each described as of
    its close) and ``test`` deals described as of ``test_as_of``."""
    closed = sorted(before, key=lambda r: (r["closed"], r["id"]))
    ordered = [*closed, *test]
    split = np.array(["test"] * len(ordered), dtype=object)
    split[: int(len(closed) * 0.75)] = "fit"
    split[int(len(closed) * 0.75) : len(closed)] = "calibration"
    as_of = np.array([r["closed"] for r in closed] + list(test_as_of), dtype=np.int64)
    examples = Examples("Deal", [r["id"] for r in ordered], as_of)
    outcome = np.array([float(bool(r["outcome"])) for r in ordered])
    return LabelledExamples(examples, outcome, split, cutoff, how)


async def _snapshots(store: GraphStore, target: Target, cutoff: int, horizon: int) -> LabelledExamples:
    if target.kind == "churn":
        rows = await store.read(
            "MATCH (a:Account) WHERE coalesce(a.status, 'active') <> 'prospect' "
            "OPTIONAL MATCH (a)<-[:RELATES_TO]-(x:Activity) "
            "WITH a, min(x.occurredAt) AS first, max(x.occurredAt) AS seen "
            "RETURN a.id AS id, CASE WHEN first < a.createdAt THEN first ELSE a.createdAt END AS created, "
            "CASE WHEN a.status = 'churned' THEN coalesce(seen, a.updatedAt) END AS event",
            timeout=300.0,
        )
        what = "churned (status churned, at the last activity)"
    else:
        rows = await store.read(
            f"MATCH (c:Customer) WHERE c.lifecycleStage = 'lead' OR c.lifecycleStage IN $past {CONVERTED_AT} "
            "RETURN c.id AS id, CASE WHEN first_touch < c.createdAt THEN first_touch ELSE c.createdAt END "
            "AS created, converted AS event",
            {"past": list(PAST_LEAD)},
            timeout=300.0,
        )
        what = "converted (stage past lead, at the first converted touch)"
    ids, as_of, outcome, split = [], [], [], []
    for k in range(_SNAPSHOTS):
        at = cutoff - k * horizon
        for r in rows:
            event = r["event"]
            if r["created"] < at and (event is None or event >= at):
                ids.append(r["id"])
                as_of.append(at)
                outcome.append(float(event is not None and event < at + horizon))
                split.append("test" if k == 0 else "calibration" if k == 1 else "fit")
    examples = Examples(target.label, ids, np.array(as_of, dtype=np.int64))
    how = (
        f"history: {what} within {horizon // DAY_MS} days of snapshots every {horizon // DAY_MS} days; "
        f"test snapshot {_day(cutoff)}, calibration {_day(cutoff - horizon)}, {_SNAPSHOTS - 2} older fit"
    )
    return LabelledExamples(examples, np.array(outcome), np.array(split, dtype=object), cutoff, how)


def _check(made: LabelledExamples, target: Target, source: str) -> None:
    for split in SPLITS:
        outcome = made.outcome[made.split == split]
        if len(outcome) < (_MIN_FIT if split == "fit" else 1) or outcome.min() == outcome.max():
            raise ScoringError(
                f"{target.kind} --label {source}: the {split} set has {len(outcome)} example(s) and "
                f"{int(outcome.sum())} positive(s), too few to learn from ({made.how})"
            )


def _day(epoch_ms: int) -> str:
    return str(np.datetime64(epoch_ms, "ms").astype("datetime64[D]"))
