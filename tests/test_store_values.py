"""Both backends return the same record shape and the same Python types."""

from __future__ import annotations

import pytest

from rapport.graph.types import GraphNode, GraphPath, GraphRelationship, GraphStore


async def test_scalars_lists_and_maps_round_trip_as_plain_python(store: GraphStore) -> None:
    value = {"i": 42, "big": 2**53 + 1, "f": 2.5, "s": "héllo", "b": True, "none": None,
             "list": [1, "two", 3.0], "map": {"nested": [1, {"deep": "x"}]}}  # fmt: skip
    rows = await store.read("RETURN $v AS v, $v.i AS i, $v.list AS list", {"v": value})
    assert rows == [{"v": value, "i": 42, "list": [1, "two", 3.0]}]
    assert type(rows[0]["i"]) is int
    assert type(rows[0]["v"]["f"]) is float


async def test_nodes_and_relationships_have_one_shape(store: GraphStore) -> None:
    await store.write(
        "CREATE (:Customer {id: 'c1', firstName: 'Ada'})-[:WORKS_AT {title: 'CTO'}]->"
        "(:Account {id: 'a1', name: 'Acme'})"
    )
    (row,) = await store.read("MATCH (c:Customer)-[r:WORKS_AT]->(a:Account) RETURN c, r, a")
    customer, works_at, account = row["c"], row["r"], row["a"]
    assert isinstance(customer, GraphNode) and isinstance(account, GraphNode)
    assert customer.labels == frozenset({"Customer"})
    assert customer.properties == {"id": "c1", "firstName": "Ada"}
    assert isinstance(works_at, GraphRelationship)
    assert works_at.type == "WORKS_AT" and works_at.properties == {"title": "CTO"}
    assert works_at.start_element_id == customer.element_id
    assert works_at.end_element_id == account.element_id


async def test_nodes_inside_lists_and_maps_keep_their_shape_beside_scalars(store: GraphStore) -> None:
    await store.write("CREATE (:Customer {id: 'c1'})")
    (row,) = await store.read("MATCH (c:Customer) RETURN [c] AS list, {who: c} AS map, c.id AS id, 1.5 AS f")
    assert isinstance(row["list"][0], GraphNode) and row["list"][0].properties == {"id": "c1"}
    assert isinstance(row["map"]["who"], GraphNode) and row["map"]["who"].labels == frozenset({"Customer"})
    assert (row["id"], row["f"]) == ("c1", 1.5)


async def test_paths_come_back_as_nodes_and_relationships_in_order(store: GraphStore) -> None:
    await store.write(
        "CREATE (:Customer {id: 'a'})-[:KNOWS]->(:Customer {id: 'b'})-[:KNOWS]->(:Customer {id: 'c'})"
    )
    (row,) = await store.read("MATCH p = (:Customer {id: 'a'})-[:KNOWS*2]->(:Customer {id: 'c'}) RETURN p")
    path = row["p"]
    assert isinstance(path, GraphPath)
    assert [n.properties["id"] for n in path.nodes] == ["a", "b", "c"]
    assert [r.type for r in path.relationships] == ["KNOWS", "KNOWS"]


@pytest.mark.parametrize(
    "hostile",
    [
        "Robert'); MATCH (n) DETACH DELETE n; //",
        'quote " and \\ backslash',
        "$name `tick` {x}",
        "multi\nline",
    ],
)
async def test_values_travel_as_parameters_never_as_query_text(store: GraphStore, hostile: str) -> None:
    await store.write("CREATE (:Customer {id: 'keep'})")
    await store.write("CREATE (:Customer {id: $id, firstName: $name})", {"id": "h", "name": hostile})
    rows = await store.read("MATCH (c:Customer) RETURN c.id AS id, c.firstName AS name ORDER BY id")
    assert rows == [{"id": "h", "name": hostile}, {"id": "keep", "name": None}]


async def test_times_are_epoch_milliseconds(store: GraphStore) -> None:
    (row,) = await store.read("RETURN timestamp() AS now, date('2024-03-01') AS day")
    assert isinstance(row["now"], int) and row["now"] > 1_700_000_000_000
    assert row["day"] == 1_709_251_200_000
