"""Reads, writes and multi-statement transactions: atomic, parameterized, bounded in time."""

from __future__ import annotations

import pytest

from rapport.graph.errors import (
    ConstraintViolation,
    NothingMatched,
    QueryError,
    QueryTimeout,
    ReadOnlyViolation,
)
from rapport.graph.types import GraphStore, Statement


async def _ids(store: GraphStore) -> list[str]:
    rows = await store.read("MATCH (n:Account) RETURN n.id AS id ORDER BY id")
    return [r["id"] for r in rows]


async def test_a_transaction_returns_each_statements_rows(store: GraphStore) -> None:
    results = await store.write_transaction([
        Statement("CREATE (a:Account {id: $id}) RETURN a.id AS id, 1 + 1 AS two", {"id": "a1"}),
        Statement("MATCH (a:Account) RETURN count(a) AS accounts"),
        Statement("MATCH (a:Account {id: 'none'}) SET a.x = 1"),
        Statement(
            "UNWIND $ids AS id CREATE (:Account {id: id}) RETURN id ORDER BY id DESC", {"ids": ["a2", "a3"]}
        ),
    ])  # fmt: skip
    assert results == [
        [{"id": "a1", "two": 2}],
        [{"accounts": 1}],  # later statements see earlier writes
        [],
        [{"id": "a3"}, {"id": "a2"}],
    ]


async def test_a_statement_that_matches_nothing_does_not_stop_the_next(store: GraphStore) -> None:
    results = await store.write_transaction([
        Statement("CREATE (:Account {id: 'a'})"),
        Statement("MATCH (a:Account {id: 'none'}) RETURN a.id AS id"),
        Statement("MATCH (a:Account) RETURN count(a) AS n"),
        Statement("UNWIND [3, 1, 2, 3] AS x RETURN DISTINCT x ORDER BY x DESC LIMIT 2"),
    ])  # fmt: skip
    assert results == [[], [], [{"n": 1}], [{"x": 3}, {"x": 2}]]


async def test_statements_may_reuse_parameter_names(store: GraphStore) -> None:
    await store.write_transaction([
        Statement("CREATE (:Account {id: $id})", {"id": "first"}),
        Statement("CREATE (:Account {id: $id})", {"id": "second"}),
    ])  # fmt: skip
    assert await _ids(store) == ["first", "second"]


async def test_a_transaction_that_fails_half_way_leaves_nothing(store: GraphStore) -> None:
    await store.run_schema(
        "CREATE CONSTRAINT account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.id IS UNIQUE"
    )
    await store.write("CREATE (:Account {id: 'taken'})")
    with pytest.raises(ConstraintViolation):
        await store.write_transaction([
            Statement("CREATE (:Account {id: 'new-1'})"),
            Statement("MATCH (a:Account {id: 'taken'}) SET a.name = 'changed'"),
            Statement("CREATE (:Account {id: 'taken'})"),
            Statement("CREATE (:Account {id: 'new-2'})"),
        ])  # fmt: skip
    assert await _ids(store) == ["taken"]
    assert await store.read("MATCH (a:Account) RETURN a.name AS name") == [{"name": None}]


async def test_a_runtime_error_rolls_the_transaction_back(store: GraphStore) -> None:
    with pytest.raises(QueryError):
        await store.write_transaction([
            Statement("CREATE (:Account {id: 'a'})"),
            Statement("WITH 1 AS x RETURN toInteger({bad: 'map'}) AS boom"),
        ])  # fmt: skip
    assert await _ids(store) == []


async def test_a_required_match_that_matches_nothing_rolls_everything_back(
    store: GraphStore,
) -> None:
    with pytest.raises(NothingMatched, match="Account missing not found"):
        await store.write_transaction([
            Statement("CREATE (:Account {id: 'a'})"),
            Statement("MATCH (a:Account {id: 'missing'}) SET a.x = 1 RETURN a.id AS id",
                      required_match="Account missing not found"),
            Statement("CREATE (:Account {id: 'b'})"),
        ])  # fmt: skip
    assert await _ids(store) == []


def _creates(count: int) -> list[Statement]:
    return [
        Statement("CREATE (a:Account {id: $id}) RETURN a.id AS id", {"id": f"a{i:02}"}) for i in range(count)
    ]


@pytest.mark.parametrize("count", [3, 40], ids=["few statements", "many statements"])
async def test_a_transaction_of_any_length_returns_each_statements_rows(
    store: GraphStore, count: int
) -> None:
    results = await store.write_transaction(
        [*_creates(count), Statement("MATCH (a:Account) RETURN count(a) AS accounts")]
    )
    assert results == [*[[{"id": f"a{i:02}"}] for i in range(count)], [{"accounts": count}]]


@pytest.mark.parametrize("count", [3, 40], ids=["few statements", "many statements"])
async def test_a_required_match_late_in_a_transaction_of_any_length_rolls_it_all_back(
    store: GraphStore, count: int
) -> None:
    with pytest.raises(NothingMatched, match="Account missing not found"):
        await store.write_transaction([
            *_creates(count),
            Statement("MATCH (a:Account {id: 'missing'}) RETURN a.id AS id",
                      required_match="Account missing not found"),
        ])  # fmt: skip
    assert await _ids(store) == []


async def test_read_queries_cannot_write(store: GraphStore) -> None:
    with pytest.raises(ReadOnlyViolation):
        await store.read("CREATE (:Account {id: 'sneaky'})")
    assert await _ids(store) == []


async def test_a_query_past_its_timeout_is_stopped(store: GraphStore) -> None:
    with pytest.raises(QueryTimeout):
        await store.read(
            "UNWIND range(1, 20000) AS a UNWIND range(1, 20000) AS b RETURN count(*) AS n",
            timeout=0.3,
        )


async def test_a_write_past_its_timeout_is_stopped_and_rolled_back(store: GraphStore) -> None:
    with pytest.raises(QueryTimeout):
        await store.write("UNWIND range(1, 5000000) AS i CREATE (:Account {id: toString(i)})", timeout=0.2)
    assert await store.read("MATCH (a:Account) RETURN count(a) AS n") == [{"n": 0}]


async def test_syntax_errors_raise_query_error(store: GraphStore) -> None:
    with pytest.raises(QueryError):
        await store.read("MATCH (n RETURN n")


async def test_unique_constraints_refuse_duplicates(store: GraphStore) -> None:
    await store.run_schema(
        "CREATE CONSTRAINT account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.id IS UNIQUE"
    )
    await store.run_schema(
        "CREATE CONSTRAINT account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.id IS UNIQUE"
    )
    await store.write("CREATE (:Account {id: 'x'})")
    with pytest.raises(ConstraintViolation):
        await store.write("CREATE (:Account {id: 'x'})")


async def test_clear_drops_data_and_schema(store: GraphStore) -> None:
    await store.run_schema(
        "CREATE CONSTRAINT account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.id IS UNIQUE"
    )
    await store.write("CREATE (:Account {id: 'x'})")
    await store.clear()
    assert await _ids(store) == []
    await store.write("CREATE (:Account {id: 'x'}), (:Account {id: 'x'})")  # no constraint left
    assert await _ids(store) == ["x", "x"]
