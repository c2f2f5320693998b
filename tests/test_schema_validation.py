"""The model's rules: each violation names the label, the field and the rule."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.schema.errors import SchemaViolation
from rapport.schema.model import LABELS, RELATIONSHIP_TYPES
from rapport.schema.validation import Schema

schema = Schema()

DEAL = {"name": "Renewal", "stage": "proposal", "amount": 1_250_000, "currency": "EUR"}


def rules(error: pytest.ExceptionInfo[SchemaViolation]) -> set[tuple[str, str, str]]:
    return {(v.label, v.field, v.rule) for v in error.value.violations}


def test_the_model_has_the_crm_labels_and_relationship_types() -> None:
    assert set(LABELS) >= {"Customer", "Account", "Deal", "Ticket", "Campaign", "Product", "User",
                           "Team", "Territory", "Activity", "Segment", "Article"}  # fmt: skip
    assert set(RELATIONSHIP_TYPES) >= {
        "WORKS_AT", "SUBSIDIARY_OF", "OWNS", "MEMBER_OF", "REPORTS_TO", "FOR_ACCOUNT", "INVOLVES",
        "FOR_PRODUCT", "RAISED_BY", "ASSIGNED_TO", "ABOUT", "TOUCHED", "KNOWS", "REFERRED",
        "IN_TERRITORY", "COVERS", "PERFORMED", "WITH", "RESOLVES",
    }  # fmt: skip


def test_a_valid_node_comes_back_normalised() -> None:
    clean = schema.validate_node(
        "Customer",
        {"firstName": "  Ada ", "lastName": "Lovelace", "email": "Ada@Example.COM",
         "phone": "+44 20 7946 0958", "country": "gb", "title": None},
    )  # fmt: skip
    assert clean == {"firstName": "Ada", "lastName": "Lovelace", "email": "Ada@example.com",
                     "phone": "+442079460958", "country": "GB"}  # fmt: skip


@pytest.mark.parametrize(
    ("label", "properties", "expected"),
    [
        ("Customer", {"lastName": "L"}, ("Customer", "firstName", "required")),
        ("Customer", {"firstName": "", "lastName": "L"}, ("Customer", "firstName", "min_length")),
        (
            "Customer",
            {"firstName": "x" * 101, "lastName": "L"},
            ("Customer", "firstName", "max_length"),
        ),
        (
            "Customer",
            {"firstName": "A", "lastName": "L", "email": "not-an-email"},
            ("Customer", "email", "email"),
        ),
        (
            "Customer",
            {"firstName": "A", "lastName": "L", "phone": "12345"},
            ("Customer", "phone", "phone"),
        ),
        (
            "Customer",
            {"firstName": "A", "lastName": "L", "country": "XX"},
            ("Customer", "country", "country"),
        ),
        ("Customer", {"firstName": 7, "lastName": "L"}, ("Customer", "firstName", "type")),
        ("Deal", {**DEAL, "stage": "won"}, ("Deal", "stage", "enum")),
        ("Deal", {**DEAL, "amount": 12.5}, ("Deal", "amount", "money")),
        ("Deal", {**DEAL, "amount": -1}, ("Deal", "amount", "minimum")),
        ("Deal", {**DEAL, "currency": "EURO"}, ("Deal", "currency", "currency")),
        ("Deal", {**DEAL, "probability": 1.5}, ("Deal", "probability", "maximum")),
        (
            "Deal",
            {**DEAL, "closedAt": 1_700_000_000_000_000},
            ("Deal", "closedAt", "timestamp_range"),
        ),
        ("Deal", {**DEAL, "colour": "red"}, ("Deal", "colour", "unknown_field")),
        ("Deal", {**DEAL, "id": "mine"}, ("Deal", "id", "read_only")),
        (
            "Account",
            {"name": "Acme", "annualRevenue": 100},
            ("Account", "currency", "currency_required"),
        ),
        (
            "Ticket",
            {"subject": "Down", "status": "open", "priority": "p1", "channel": "email"},
            ("Ticket", "priority", "enum"),
        ),
        (
            "Ticket",
            {"subject": "Down", "status": "open", "priority": "high", "channel": "fax"},
            ("Ticket", "channel", "enum"),
        ),
        ("Campaign", {"name": "Spring", "channel": "radio"}, ("Campaign", "channel", "enum")),
        ("Article", {"title": "How to", "tags": "one"}, ("Article", "tags", "type")),
        ("Activity", {"kind": "call", "occurredAt": True}, ("Activity", "occurredAt", "type")),
    ],
)
def test_each_rule_is_named(label: str, properties: dict[str, Any], expected: tuple[str, str, str]) -> None:
    with pytest.raises(SchemaViolation) as error:
        schema.validate_node(label, properties)
    assert expected in rules(error)
    assert f"{expected[0]}.{expected[1]}" in str(error.value)
    assert f"rule: {error.value.violations[0].rule}" in str(error.value)


def test_every_violation_is_reported_at_once() -> None:
    with pytest.raises(SchemaViolation) as error:
        schema.validate_node("Deal", {"stage": "won", "amount": "lots"})
    assert rules(error) == {
        ("Deal", "stage", "enum"),
        ("Deal", "amount", "money"),
        ("Deal", "name", "required"),
        ("Deal", "currency", "required"),
    }
    assert "and 3 more" in str(error.value)


def test_unknown_labels_are_refused() -> None:
    with pytest.raises(SchemaViolation) as error:
        schema.validate_node("Lead", {"name": "x"})
    assert rules(error) == {("Lead", "label", "unknown_label")}


def test_relationships_check_their_endpoints_and_properties() -> None:
    assert schema.validate_relationship(
        "INVOLVES", "Deal", "Customer", {"role": "champion", "since": 1_700_000_000_000}
    ) == {"role": "champion", "since": 1_700_000_000_000}
    with pytest.raises(SchemaViolation) as error:
        schema.validate_relationship("INVOLVES", "Account", "Customer", {"role": "champion"})
    assert rules(error) == {("INVOLVES", "source", "endpoint")}
    with pytest.raises(SchemaViolation) as error:
        schema.validate_relationship("INVOLVES", "Deal", "Customer", {"role": "sponsor"})
    assert rules(error) == {("INVOLVES", "role", "enum")}
    with pytest.raises(SchemaViolation) as error:
        schema.validate_relationship("LIKES", "Deal", "Customer", {})
    assert rules(error) == {("LIKES", "type", "unknown_relationship_type")}


def test_a_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(SchemaViolation) as error:
        schema.validate_relationship(
            "WORKS_AT",
            "Customer",
            "Account",
            {"since": 1_700_000_000_000, "until": 1_600_000_000_000},
        )
    assert rules(error) == {("WORKS_AT", "until", "until_after_since")}


def test_touches_need_channel_kind_and_time() -> None:
    with pytest.raises(SchemaViolation) as error:
        schema.validate_relationship("TOUCHED", "Campaign", "Customer", {"kind": "bounced"})
    assert rules(error) == {
        ("TOUCHED", "kind", "enum"), ("TOUCHED", "channel", "required"), ("TOUCHED", "at", "required"),
    }  # fmt: skip
