"""Events for derived values: a record's ``updated`` event names the values that appeared or
moved by at least their minimum, and no record gets one for rounding noise."""

from __future__ import annotations

from rapport.events.derived import moved_values
from rapport.graph.types import GraphStore


async def test_only_values_that_appeared_or_moved_by_their_minimum_make_an_event(store: GraphStore) -> None:
    await store.write(
        "UNWIND $rows AS row CREATE (a:Account {id: row.id}) SET a += row.scores",
        {"rows": [
            {"id": "steady", "scores": {"churnRisk": 0.5, "healthScore": 70}},
            {"id": "churning", "scores": {"churnRisk": 0.5, "healthScore": 70}},
            {"id": "new", "scores": {}},
        ]},
    )  # fmt: skip
    events = await moved_values(
        store,
        "Account",
        {
            "steady": {"churnRisk": 0.505, "healthScore": 70.4},
            "churning": {"churnRisk": 0.9, "healthScore": 70.4},
            "new": {"churnRisk": 0.1, "healthScore": 40},
            "gone": {"churnRisk": 0.3, "healthScore": 50},  # no such record: its write changes nothing
        },
        lambda field: 1.0 if field == "healthScore" else 0.01,
    )
    assert [(e.type, e.label, e.ids, dict(e.fields)) for e in events] == [
        ("updated", "Account", ("churning",), {"churnRisk": (0.5, 0.9)}),
        ("updated", "Account", ("new",), {"churnRisk": (None, 0.1), "healthScore": (None, 40)}),
    ]
