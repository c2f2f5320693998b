"""The moment the data describes: scoring and training happen as of the graph's last day."""

from __future__ import annotations

from rapport.graph.types import GraphStore
from rapport.scoring.errors import ScoringError

__all__ = ["data_end"]


async def data_end(store: GraphStore) -> int:
    """Just after the latest dated event in the graph (epoch ms): "now", as far as the data knows.

    Scoring and training default to it rather than the clock, so that a graph that
    stopped receiving data (an export, the demo) is described as of its last day
    rather than as if every customer had gone quiet since.
    """
    latest = 0
    for cypher in (
        "MATCH (x:Activity) RETURN max(x.occurredAt) AS t",
        "MATCH (k:Ticket) RETURN max(k.createdAt) AS t",
        "MATCH (d:Deal) RETURN max(d.createdAt) AS t",
        "MATCH (:Campaign)-[m:TOUCHED]->(:Customer) RETURN max(m.at) AS t",
    ):
        rows = await store.read(cypher)
        latest = max(latest, int(rows[0]["t"] or 0))
    if not latest:
        raise ScoringError("the graph holds no dated activities, tickets, deals or touches to learn from")
    return latest + 1
