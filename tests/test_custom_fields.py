"""Custom fields: declared at runtime, validated like built-in ones, kept in the graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.graph.records import Records
from rapport.graph.types import GraphStore
from rapport.migrations.runner import MigrationRunner
from rapport.schema.custom_fields import CustomFields
from rapport.schema.errors import SchemaViolation
from rapport.schema.fields import FieldType
from tests.conftest import open_second_connection
from tests.outbox_state import recorded_events

ACME = {"name": "Acme"}


@pytest.fixture
async def registry(store: GraphStore) -> CustomFields:
    await MigrationRunner(store).migrate()
    registry = CustomFields(store)
    await registry.load()
    return registry


async def test_a_declared_field_is_validated_like_a_built_in_one(
    registry: CustomFields, store: GraphStore
) -> None:
    await registry.declare("Account", "segmentTier", FieldType.ENUM, choices=("gold", "silver"))
    await registry.declare("Account", "netPromoterScore", "integer", minimum=-100, maximum=100)
    records = Records(store, registry.schema)
    account = await records.create("Account", {**ACME, "segmentTier": "gold", "netPromoterScore": 40})
    assert account["segmentTier"] == "gold"
    with pytest.raises(
        SchemaViolation, match=r"Account\.segmentTier: must be one of gold, silver \(rule: enum\)"
    ):
        await records.create("Account", {**ACME, "segmentTier": "bronze"})
    with pytest.raises(SchemaViolation, match=r"Account\.netPromoterScore: must be at most 100"):
        await records.update("Account", account["id"], {"netPromoterScore": 101})


async def test_undeclared_fields_are_refused(registry: CustomFields, store: GraphStore) -> None:
    with pytest.raises(SchemaViolation, match="unknown_field"):
        await Records(store, registry.schema).create("Account", {**ACME, "segmentTier": "gold"})


async def test_a_required_field_needs_every_existing_node_to_have_it(
    registry: CustomFields, store: GraphStore
) -> None:
    records = Records(store, registry.schema)
    await records.create("Account", ACME)
    with pytest.raises(SchemaViolation, match="required_needs_values"):
        await registry.declare("Account", "region2", "string", required=True)
    await store.write("MATCH (a:Account) SET a.region2 = 'EMEA'")
    await registry.declare("Account", "region2", "string", required=True)
    with pytest.raises(SchemaViolation, match=r"Account\.region2: is required"):
        await Records(store, registry.schema).create("Account", ACME)


@pytest.mark.parametrize(
    ("name", "type_", "choices", "rule"),
    [
        ("Bad Name", "string", (), "field_name"),
        ("name", "string", (), "field_exists"),
        ("version", "string", (), "field_exists"),
        ("score", "money", (), "field_type"),
        ("score", "decimal", (), "field_type"),
        ("grade", "enum", (), "enum_choices"),
        ("grade", "string", ("a",), "enum_choices"),
    ],
)
async def test_bad_declarations_are_refused_by_rule(
    registry: CustomFields, name: str, type_: str, choices: tuple[str, ...], rule: str
) -> None:
    with pytest.raises(SchemaViolation) as error:
        await registry.declare("Account", name, type_, choices=choices)
    assert error.value.violations[0].rule == rule


async def test_declarations_are_kept_in_the_graph(
    registry: CustomFields, session_store: GraphStore, tmp_path: Path
) -> None:
    await registry.declare("Customer", "shoeSize", "float", minimum=1)
    # A fresh connection with nothing cached, as after a restart, reads it from the graph.
    other = await open_second_connection(session_store, tmp_path)
    try:
        schema = await CustomFields(other).load()
        assert [f.name for f in schema.custom["Customer"]] == ["shoeSize"]
        with pytest.raises(SchemaViolation, match="minimum"):
            schema.validate_node("Customer", {"firstName": "A", "lastName": "B", "shoeSize": 0})
    finally:
        await other.close()


async def test_dropping_a_declaration_stops_validating_it(registry: CustomFields) -> None:
    await registry.declare("Deal", "lostTo", "string")
    assert await registry.drop("Deal", "lostTo") is True
    assert "Deal" not in registry.schema.custom


async def test_declaring_redefining_and_dropping_a_field_record_change_events(
    registry: CustomFields, store: GraphStore
) -> None:
    await registry.declare("Account", "plan", "enum", choices=("free", "team"))
    await registry.declare("Account", "plan", "enum", choices=("free", "team"))  # the same: no change
    await registry.declare("Account", "plan", "enum", choices=("free", "team", "enterprise"), required=False)
    assert await registry.drop("Account", "plan")
    assert not await registry.drop("Account", "plan")  # nothing left to drop: no event
    events = await recorded_events(store)
    assert [(e["type"], e["label"], e["ids"], e["actor"]) for e in events] == [
        ("created", "_CustomField", ["Account.plan"], "operator"),
        ("updated", "_CustomField", ["Account.plan"], "operator"),
        ("deleted", "_CustomField", ["Account.plan"], "operator"),
    ]
    created, updated, _ = (e["fields"] for e in events)
    assert created["type"] == [None, "enum"] and created["choices"] == [None, ["free", "team"]]
    assert updated == {"choices": [["free", "team"], ["free", "team", "enterprise"]]}
