"""Bulk loading: every value type survives, relationships find their ends, and a graph
with declarations of its own is loaded without losing them."""

from __future__ import annotations

import itertools

import pytest

from rapport.demo.seed import seed_demo
from rapport.graph.bulk import BulkWriter
from rapport.graph.errors import ConstraintViolation, NothingMatched, QueryError
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


UNIQUE_SEGMENT_IDS = "CREATE CONSTRAINT segment_id IF NOT EXISTS FOR (n:Segment) REQUIRE n.id IS UNIQUE"


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


async def test_batches_written_two_at_a_time_all_land_with_their_relationships(store: GraphStore) -> None:
    await store.run_schema(UNIQUE_SEGMENT_IDS)
    writer = BulkWriter(store, in_flight=2)
    ids = [f"s{i}" for i in range(60)]
    for start in range(0, 60, 10):
        await writer.write_nodes(NodeBatch("Segment", {"id": ids[start : start + 10]}))
    pairs = list(itertools.pairwise(ids))
    for start in range(0, len(pairs), 7):
        sources, targets = zip(*pairs[start : start + 7], strict=True)
        await writer.write_relationships(
            RelationshipBatch("KNOWS", "Segment", "Segment", list(sources), list(targets), {})
        )
    await writer.finish()
    rows = await store.read("MATCH (a:Segment)-[:KNOWS]->(b:Segment) RETURN a.id AS a, b.id AS b")
    assert sorted((r["a"], r["b"]) for r in rows) == sorted(pairs)
    assert (writer.nodes, writer.relationships) == (60, 59)


async def test_a_failing_batch_is_raised_writes_nothing_and_the_batches_in_flight_still_end(
    store: GraphStore,
) -> None:
    await store.run_schema(UNIQUE_SEGMENT_IDS)
    writer = BulkWriter(store, in_flight=2)
    with pytest.raises(ConstraintViolation):
        for ids in (["a", "b"], ["c", "a"], ["d"], ["e"]):  # the two in flight both take "a"
            await writer.write_nodes(NodeBatch("Segment", {"id": ids}))
        await writer.finish()
    await writer.finish()  # nothing left to wait for
    rows = await store.read("MATCH (n:Segment) RETURN n.id AS id")
    written = {row["id"] for row in rows}
    assert written - {"d", "e"} in ({"a", "b"}, {"a", "c"})  # one whole batch; the other not at all


async def test_a_relationship_to_a_node_never_loaded_is_refused_naming_it(store: GraphStore) -> None:
    sink = await store.bulk_sink()
    await sink.write_nodes(NodeBatch("Segment", {"id": ["a", "b"]}))
    with pytest.raises(QueryError, match="endpoint Segment 'ghost' was not loaded"):
        await sink.write_relationships(RelationshipBatch("KNOWS", "Segment", "Segment", ["a"], ["ghost"], {}))


async def test_a_batch_whose_endpoint_was_deleted_while_loading_writes_none_of_its_relationships(
    store: GraphStore,
) -> None:
    writer = BulkWriter(store)
    await writer.write_nodes(NodeBatch("Segment", {"id": ["a", "b", "c"]}))
    await writer.finish()
    await store.write("MATCH (n:Segment {id: 'c'}) DELETE n")
    with pytest.raises(NothingMatched, match="2 KNOWS relationships lost endpoints"):
        await writer.write_relationships(
            RelationshipBatch("KNOWS", "Segment", "Segment", ["a", "b"], ["b", "c"], {})
        )
        await writer.finish()
    assert await store.read("MATCH ()-[r:KNOWS]->() RETURN count(r) AS n") == [{"n": 0}]


async def test_seeding_keeps_custom_field_declarations(store: GraphStore) -> None:
    await CustomFields(store).declare("Account", "partnerTier", "string")
    await seed_demo(store, 120, seed=4)
    stored = await stored_fingerprint(store)
    assert stored["labels"].pop("_CustomField") == 1  # type: ignore[attr-defined]
    assert stored["labels"].pop("_Outbox") == 1  # type: ignore[attr-defined]  # the declaration's event
    assert stored["labels"].pop("_OutboxSequence") == 1  # type: ignore[attr-defined]
    assert stored == expected_fingerprint(120, 4)
    schema = await CustomFields(store).load()
    assert [f.name for f in schema.custom["Account"]] == ["partnerTier"]
