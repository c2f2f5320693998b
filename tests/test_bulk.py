"""Bulk loading: every value type survives, relationships find their ends, and a graph
with declarations of its own is loaded without losing them."""

from __future__ import annotations

from rapport.demo.seed import seed_demo
from rapport.graph.types import GraphStore, NodeBatch, RelationshipBatch
from rapport.schema.custom_fields import CustomFields
from tests.test_demo_seed import expected_fingerprint, stored_fingerprint

VALUES = {
    "id": ["a", "b", "c"],
    "name": ["Zoë", "multi\nline 'quoted' \"text\"", None],
    "count": [1, -(2**62), None],
    "share": [0.25, None, 1e-9],
    "active": [True, False, None],
    "tags": [["x", "y"], [], None],
}


async def test_every_value_type_survives_a_bulk_load(store: GraphStore) -> None:
    sink = await store.bulk_sink()
    await sink.write_nodes(NodeBatch("Segment", VALUES))
    await sink.write_relationships(
        RelationshipBatch("KNOWS", "Segment", "Segment", ["a", "b"], ["b", "c"], {"strength": [0.5, None]})
    )
    await sink.finish()
    rows = await store.read("MATCH (n:Segment) RETURN properties(n) AS p ORDER BY n.id")
    expected = [{k: v[i] for k, v in VALUES.items() if v[i] is not None} for i in range(3)]
    assert [r["p"] for r in rows] == expected
    rels = await store.read(
        "MATCH (a)-[r:KNOWS]->(b) RETURN a.id AS a, b.id AS b, r.strength AS s ORDER BY a"
    )
    assert rels == [{"a": "a", "b": "b", "s": 0.5}, {"a": "b", "b": "c", "s": None}]
    assert (sink.nodes, sink.relationships) == (3, 2)


async def test_seeding_keeps_custom_field_declarations(store: GraphStore) -> None:
    await CustomFields(store).declare("Account", "partnerTier", "string")
    await seed_demo(store, 120, seed=4)
    stored = await stored_fingerprint(store)
    assert stored["labels"].pop("_CustomField") == 1  # type: ignore[attr-defined]
    assert stored == expected_fingerprint(120, 4)
    schema = await CustomFields(store).load()
    assert [f.name for f in schema.custom["Account"]] == ["partnerTier"]
