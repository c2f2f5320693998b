"""Where the dialects differ, the dialect object supplies a fragment that means the same."""

from __future__ import annotations

from rapport.graph.types import GraphStore


async def _knows_chain(store: GraphStore) -> None:
    await store.write(
        "CREATE (a:Customer {id: 'a', firstName: 'Ada Lovelace'})-[:KNOWS]->"
        "(b:Customer {id: 'b', firstName: 'Bob'})-[:KNOWS]->(c:Customer {id: 'c', firstName: 'Cy'}),"
        " (d:Customer {id: 'd', firstName: 'Dee'})"
    )


async def test_exists_and_count_pattern_subqueries(store: GraphStore) -> None:
    await _knows_chain(store)
    d = store.dialect
    rows = await store.read(
        f"MATCH (c:Customer) RETURN c.id AS id, {d.exists_pattern('(c)-[:KNOWS]->(:Customer)')} AS knows, "
        f"{d.count_pattern('(c)-[:KNOWS]-(:Customer)')} AS degree ORDER BY id"
    )
    assert rows == [
        {"id": "a", "knows": True, "degree": 1},
        {"id": "b", "knows": True, "degree": 2},
        {"id": "c", "knows": False, "degree": 1},
        {"id": "d", "knows": False, "degree": 0},
    ]


async def test_shortest_path_binds_the_path_or_drops_the_row(store: GraphStore) -> None:
    await _knows_chain(store)
    clause = store.dialect.shortest_path("p", "s", "t", ":KNOWS", 5)
    query = (
        f"MATCH (s:Customer {{id: $from}}), (t:Customer {{id: $to}}) {clause} "
        "RETURN [n IN nodes(p) | n.id] AS ids"
    )
    assert await store.read(query, {"from": "a", "to": "c"}) == [{"ids": ["a", "b", "c"]}]
    assert await store.read(query, {"from": "a", "to": "d"}) == []


async def test_an_index_hint_finds_the_same_rows_ordered_by_another_property(store: GraphStore) -> None:
    await store.run_schema(
        "CREATE INDEX customer_first_name IF NOT EXISTS FOR (n:Customer) ON (n.firstName)",
        "CREATE CONSTRAINT customer_id IF NOT EXISTS FOR (n:Customer) REQUIRE n.id IS UNIQUE",
    )
    await _knows_chain(store)
    hint = store.dialect.index_hint("c", "Customer", "firstName")
    query = f"MATCH (c:Customer) {hint} WHERE c.firstName IN $names RETURN c.id AS id ORDER BY id LIMIT 2"
    assert await store.read(query, {"names": ["Cy", "Bob", "Dee"]}) == [{"id": "b"}, {"id": "c"}]


async def test_fulltext_index_finds_names(store: GraphStore) -> None:
    await store.run_schema(
        "CREATE FULLTEXT INDEX customer_search IF NOT EXISTS FOR (n:Customer) ON EACH [n.firstName]"
    )
    await _knows_chain(store)
    call = store.dialect.fulltext_nodes("customer_search", "Customer")
    rows = await store.read(f"{call} RETURN node.id AS id, score", {"query": "lovelace"})
    assert [r["id"] for r in rows] == ["a"]
    assert rows[0]["score"] > 0


async def test_vector_index_ranks_by_similarity(store: GraphStore) -> None:
    await store.run_schema(
        "CREATE VECTOR INDEX customer_embedding IF NOT EXISTS FOR (n:Customer) ON (n.embedding) "
        "OPTIONS {indexConfig: {`vector.dimensions`: 3, `vector.similarity_function`: 'cosine'}}"
    )
    vectors = {"same": [1.0, 0.0, 0.0], "close": [0.9, 0.1, 0.0], "far": [0.0, 0.0, 1.0]}
    for id_, vector in vectors.items():
        await store.write(
            f"CREATE (n:Customer {{id: $id}}) SET n.embedding = {store.dialect.vector_value('vector')}",
            {"id": id_, "vector": vector},
        )
    call = store.dialect.vector_nodes("customer_embedding", "Customer", "embedding")
    rows = await store.read(
        f"{call} RETURN node.id AS id, score ORDER BY score DESC",
        {"k": 3, "vector": [1.0, 0.0, 0.0]},
    )
    assert [r["id"] for r in rows] == ["same", "close", "far"]
    assert abs(rows[0]["score"] - 1.0) < 1e-3
    assert abs(rows[2]["score"] - 0.5) < 1e-3  # orthogonal: (1 + cos) / 2


async def test_batched_delete_removes_everything_matched(store: GraphStore) -> None:
    await store.write("UNWIND range(1, 2500) AS i CREATE (:Activity {id: toString(i)})-[:WITH]->(:Customer)")
    deleted = await store.delete_in_batches("MATCH (n:Activity)", batch_size=1000)
    assert deleted == 2500
    assert await store.read("MATCH (n:Activity) RETURN count(n) AS n") == [{"n": 0}]
    assert await store.read("MATCH (n:Customer) RETURN count(n) AS n") == [{"n": 2500}]
