"""The transactional outbox: every change a mutation makes is recorded in the same transaction.

Each record gets the next number of one sequence. The sequence is a node
that every writing transaction updates, so it is locked until commit: numbers
follow commit order, and a consumer can resume from the last number it saw.
A crash after the commit loses nothing: the relay publishes whatever is
still unsent when it starts.

The sequence also names its numbering (a random id), which changes whenever
the relay renumbers unsent records and is new when the sequence is created
again on a cleared graph: a number is the same record's only within one
numbering, so the relay publishes a record it was handed by number only while
the stream follows the same numbering.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from rapport.auth.actor import Actor
from rapport.graph.records import NodeRef
from rapport.graph.types import Statement
from rapport.graph.values import now_millis


class ChangeType(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    LINKED = "linked"
    UNLINKED = "unlinked"


@dataclass(frozen=True)
class ChangeEvent:
    """One change: a record's (``label`` and ``ids`` of one record) or a relationship's (``label``
    is its type, ``ids`` its start and end records); ``fields`` maps each changed field to
    ``[old, new]``."""

    type: ChangeType
    label: str
    ids: tuple[str, ...]
    fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    labels: tuple[str, ...] = ()  # for relationships: the labels of the start and end records


def record_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> dict[str, tuple[Any, Any]]:
    """``field -> (old, new)`` for every field that differs (system fields included)."""
    old, new = old or {}, new or {}
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def link_event(
    type: ChangeType, rel_type: str, source: NodeRef, target: NodeRef, props: Mapping[str, Any]
) -> ChangeEvent:
    """A relationship's change (``LINKED`` or ``UNLINKED``) from ``source`` to ``target``, with the
    relationship's properties as its new fields."""
    return ChangeEvent(
        type, rel_type, (source.id, target.id), record_changes(None, props), (source.label, target.label)
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    """The outbox records one transaction committed: numbered from ``first`` on (in ``numbering``),
    one per payload."""

    first: int
    numbering: str
    payloads: tuple[str, ...]

    def numbered(self) -> list[tuple[int, str]]:
        return [(self.first + i, payload) for i, payload in enumerate(self.payloads)]


def recorded(statement: Statement, rows: Sequence[Mapping[str, Any]]) -> Recorded | None:
    """What the committed ``statement`` (an :func:`outbox_statement`) recorded, given its rows;
    ``None`` when it recorded nothing."""
    if not rows or rows[0]["first"] is None:
        return None
    payloads = tuple(event["payload"] for event in statement.params["events"])
    return Recorded(int(rows[0]["first"]), rows[0]["numbering"], payloads)


def new_numbering() -> str:
    """A fresh id for the outbox sequence's numbering."""
    return uuid.uuid4().hex


def with_outbox(
    statements: Sequence[Statement], changes: Sequence[ChangeEvent], actor: Actor
) -> list[Statement]:
    """``statements`` then, when there are ``changes``, the statement recording them: what one
    transaction runs to write and record what it changed."""
    return [*statements, outbox_statement(changes, actor)] if changes else list(statements)


def outbox_statement(changes: Sequence[ChangeEvent], actor: Actor) -> Statement:
    """The statement recording ``changes`` as numbered outbox records, to run in their transaction."""
    at = now_millis()
    events = [
        {
            "type": change.type.value,
            "label": change.label,
            "payload": orjson.dumps(
                {
                    "type": change.type.value,
                    "label": change.label,
                    "ids": list(change.ids),
                    "labels": list(change.labels),
                    "fields": {k: list(v) for k, v in change.fields.items()},
                    "actor": actor.subject,
                    "at": at,
                }
            ).decode(),
        }
        for change in changes
    ]
    return Statement(
        "MERGE (s:_OutboxSequence {name: 'events'}) ON CREATE SET s.value = 0 "
        "SET s.value = s.value + size($events), s.numbering = coalesce(s.numbering, $numbering) "
        "WITH s.value - size($events) AS base, s.numbering AS numbering "
        "UNWIND range(0, size($events) - 1) AS i "
        "WITH base + i + 1 AS seq, $events[i] AS event, numbering "
        "CREATE (o:_Outbox {seq: seq, type: event.type, label: event.label, payload: event.payload, "
        "sent: false, at: $at}) "
        "RETURN numbering, min(seq) AS first, count(o) AS recorded",
        {"events": events, "at": at, "numbering": new_numbering()},
        serial=True,
    )
