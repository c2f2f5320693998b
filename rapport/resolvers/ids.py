"""Global ids: ``Label:recordId``, resolvable by ``node(id:)`` without a lookup table."""

from __future__ import annotations

from collections.abc import Collection

from rapport.resolvers.errors import UserInputError


def global_id(label: str, record_id: str) -> str:
    return f"{label}:{record_id}"


def parse_global_id(value: str, labels: Collection[str]) -> tuple[str, str]:
    """``(label, record id)`` of a global id, or :class:`UserInputError` naming the rule."""
    label, sep, record_id = value.partition(":")
    if not sep or not record_id or label not in labels:
        raise UserInputError(f"{value!r} is not a global id (Label:recordId with a known label)", "id")
    return label, record_id


def record_id_for(value: str, label: str) -> str:
    """The record id in ``value``: a global id of ``label`` or a bare record id."""
    if ":" not in value:
        return value
    _, record_id = parse_global_id(value, [label])
    return record_id
