"""Writing scores onto records, with their siblings, and change events for the scores that moved.

Each score field ``f`` (``churnRisk``, ``healthScore``, ``winProbability``,
``conversionProbability``) is written with ``fConfidence`` (0-1),
``fReasons`` (a JSON list of ``{text, contribution}``), ``fModel`` (the model
version) and ``fAt`` (epoch ms). Scores are derived data: writing them
changes neither ``version`` nor ``updatedAt``, so they never make a user's
edit fail its ``expectedVersion`` check.

Writes go in batches, one transaction each; the same transaction records an
``updated`` outbox event per record whose scores moved by at least
:data:`MIN_MOVE` (one point for the 0-100 health score), so ``scoreChanged``
subscribers hear of real moves without a flood of rounding noise. A record
scored for the first time has moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from rapport.auth.actor import Actor
from rapport.events.derived import write_derived
from rapport.graph.dialect import checked_identifier
from rapport.graph.types import GraphStore, Statement
from rapport.schema.model import sibling_fields
from rapport.scoring.reasons import Reason

MIN_MOVE = 0.01
_MIN_MOVE_POINTS = {"healthScore": 1.0}  # integer 0-100 scores move by whole points
BATCH_SIZE = 5_000


@dataclass(frozen=True)
class ScoreValue:
    """One score of a record: its value, confidence and reasons."""

    field: str
    value: float
    confidence: float
    reasons: Sequence[Reason]


@dataclass(frozen=True)
class ScoreUpdate:
    """The scores one model gives one record."""

    label: str
    id: str
    scores: tuple[ScoreValue, ...]


@dataclass(frozen=True)
class Written:
    records: int
    events: int


def _properties(scores: Sequence[ScoreValue], model: str, at: int) -> dict[str, object]:
    """The properties that hold ``scores``: each value and its siblings."""
    props: dict[str, object] = {}
    for score in scores:
        confidence, reasons, version, when = sibling_fields(score.field)
        props[score.field] = score.value
        props[confidence] = score.confidence
        props[reasons] = orjson.dumps([r.as_dict() for r in score.reasons]).decode()
        props[version] = model
        props[when] = at
    return props


async def write_scores(
    store: GraphStore,
    updates: Sequence[ScoreUpdate],
    *,
    model: str,
    at: int,
    actor: Actor,
    batch_size: int = BATCH_SIZE,
) -> Written:
    """Write ``updates`` (all of one label and one set of fields) in batches with their events."""
    if not updates:
        return Written(0, 0)
    label = checked_identifier(updates[0].label)
    events = 0
    for start in range(0, len(updates), batch_size):
        batch = updates[start : start + batch_size]
        # Records given the very same scores (the people of one account) share one property map.
        shared: dict[int, int] = {}
        payloads: list[dict[str, object]] = []
        rows = []
        for update in batch:
            if id(update.scores) not in shared:
                shared[id(update.scores)] = len(payloads)
                payloads.append(_properties(update.scores, model, at))
            rows.append({"id": update.id, "p": shared[id(update.scores)]})
        events += await write_derived(
            store,
            Statement(
                f"UNWIND $rows AS r MATCH (n:{label} {{id: r.id}}) SET n += $payloads[r.p]",
                {"rows": rows, "payloads": payloads},
            ),
            label,
            {update.id: {score.field: score.value for score in update.scores} for update in batch},
            lambda field: _MIN_MOVE_POINTS.get(field, MIN_MOVE),
            actor,
            timeout=300.0,
        )
    return Written(len(updates), events)
