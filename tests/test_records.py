"""Validated writes: ids, timestamps, versions; bad input writes nothing."""

from __future__ import annotations

import re

import pytest

from rapport.graph.errors import ConstraintViolation
from rapport.graph.records import NodeRef, RecordNotFound, Records, VersionConflict
from rapport.graph.types import GraphStore
from rapport.migrations.runner import MigrationRunner
from rapport.schema.errors import SchemaViolation
from rapport.schema.validation import Schema

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ACME = {
    "name": "Acme",
    "industry": "Manufacturing",
    "annualRevenue": 5_000_000_00,
    "currency": "USD",
}


@pytest.fixture
async def records(store: GraphStore) -> Records:
    await MigrationRunner(store).migrate()
    return Records(store, Schema())


async def count(store: GraphStore, label: str) -> int:
    rows = await store.read(f"MATCH (n:{label}) RETURN count(n) AS n")
    return int(rows[0]["n"])


async def test_create_assigns_id_timestamps_and_version(records: Records) -> None:
    account = await records.create("Account", ACME)
    assert UUID7.match(account["id"])
    assert account["createdAt"] == account["updatedAt"] > 1_700_000_000_000
    assert account["version"] == 1
    assert await records.get("Account", account["id"]) == account


async def test_one_statement_creates_many_nodes_and_answers_their_ids_in_order(
    records: Records, store: GraphStore
) -> None:
    nodes = [records.new_node("Account", {**ACME, "name": name}) for name in ("Acme", "Globex", "Initech")]
    (rows,) = await store.write_transaction([records.create_statement("Account", nodes)])
    assert [row["id"] for row in rows] == [node["id"] for node in nodes]
    stored = await store.read("MATCH (n:Account) RETURN properties(n) AS p ORDER BY n.name")
    assert [row["p"] for row in stored] == nodes


async def test_invalid_input_writes_nothing(records: Records, store: GraphStore) -> None:
    with pytest.raises(SchemaViolation, match=r"Account\.employees: must be an integer"):
        await records.create("Account", {**ACME, "employees": "many"})
    with pytest.raises(SchemaViolation, match="unknown_label"):
        await records.create("Lead", {"name": "x"})
    assert await count(store, "Account") == 0


async def test_update_validates_the_merged_record_and_bumps_the_version(records: Records) -> None:
    account = await records.create("Account", ACME)
    updated = await records.update("Account", account["id"], {"employees": 250, "industry": None})
    assert updated["employees"] == 250 and "industry" not in updated
    assert updated["version"] == 2
    assert updated["createdAt"] == account["createdAt"] <= updated["updatedAt"]
    assert await records.get("Account", account["id"]) == updated
    with pytest.raises(SchemaViolation, match=r"Account\.name: is required"):
        await records.update("Account", account["id"], {"name": None})
    with pytest.raises(SchemaViolation, match="currency_required"):
        await records.update("Account", account["id"], {"currency": None})
    assert (await records.get("Account", account["id"]))["version"] == 2


async def test_update_keeps_properties_outside_the_model(records: Records, store: GraphStore) -> None:
    account = await records.create("Account", ACME)
    await store.write("MATCH (a:Account {id: $id}) SET a.churnScore = 0.7", {"id": account["id"]})
    updated = await records.update("Account", account["id"], {"employees": 12})
    assert updated["churnScore"] == 0.7 and updated["employees"] == 12


async def test_an_update_from_a_stale_version_is_refused(records: Records) -> None:
    account = await records.create("Account", ACME)
    await records.update("Account", account["id"], {"employees": 10}, expected_version=1)
    with pytest.raises(VersionConflict, match="version 2, not 1"):
        await records.update("Account", account["id"], {"employees": 20}, expected_version=1)
    assert (await records.get("Account", account["id"]))["employees"] == 10


async def test_updating_a_missing_record_says_so(records: Records) -> None:
    with pytest.raises(RecordNotFound, match="Account nope not found"):
        await records.update("Account", "nope", {"employees": 1})


async def test_relationships_carry_validated_properties(records: Records, store: GraphStore) -> None:
    account = await records.create("Account", ACME)
    ada = await records.create("Customer", {"firstName": "Ada", "lastName": "Lovelace"})
    props = await records.relate(
        "WORKS_AT", NodeRef("Customer", ada["id"]), NodeRef("Account", account["id"]),
        {"title": "CTO", "since": 1_600_000_000_000},
    )  # fmt: skip
    assert props == {"title": "CTO", "since": 1_600_000_000_000}
    rows = await store.read(
        "MATCH (:Customer {id: $c})-[r:WORKS_AT]->(a:Account) RETURN r.title AS title, a.name AS name",
        {"c": ada["id"]},
    )
    assert rows == [{"title": "CTO", "name": "Acme"}]
    assert (
        await records.unrelate("WORKS_AT", NodeRef("Customer", ada["id"]), NodeRef("Account", account["id"]))
        == 1
    )


async def test_a_relationship_to_a_missing_record_writes_nothing(records: Records, store: GraphStore) -> None:
    ada = await records.create("Customer", {"firstName": "Ada", "lastName": "Lovelace"})
    statement, _ = records.plan_create("Account", ACME)
    with pytest.raises(RecordNotFound, match="not found"):
        await records.apply([
            statement,
            records.plan_relate("WORKS_AT", NodeRef("Customer", ada["id"]), NodeRef("Account", "ghost"), {}),
        ])  # fmt: skip
    assert await count(store, "Account") == 0


async def test_relationship_endpoints_follow_the_model(records: Records) -> None:
    account = await records.create("Account", ACME)
    with pytest.raises(SchemaViolation, match="endpoint"):
        await records.relate("WORKS_AT", NodeRef("Account", account["id"]), NodeRef("Account", account["id"]))


async def test_ids_are_unique_per_label(records: Records, store: GraphStore) -> None:
    account = await records.create("Account", ACME)
    with pytest.raises(ConstraintViolation):
        await store.write("CREATE (:Account {id: $id})", {"id": account["id"]})


async def test_delete_removes_the_node_and_its_relationships(records: Records, store: GraphStore) -> None:
    account = await records.create("Account", ACME)
    ada = await records.create("Customer", {"firstName": "Ada", "lastName": "Lovelace"})
    await records.relate("WORKS_AT", NodeRef("Customer", ada["id"]), NodeRef("Account", account["id"]))
    assert await records.delete("Account", account["id"]) is True
    assert await records.delete("Account", account["id"]) is False
    assert await store.read("MATCH ()-[r:WORKS_AT]->() RETURN count(r) AS n") == [{"n": 0}]
