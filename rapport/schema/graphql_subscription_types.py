"""The subscription half of the GraphQL schema: change events as they are committed.

``changes`` streams every change the subscriber may see, optionally only of
some labels (or relationship types) or records; ``since`` replays what the
stream still holds after that sequence number, then goes live.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON


@strawberry.type(name="ChangeEvent", description="One committed change, numbered in commit order.")
class ChangeEventType:
    seq: int = strawberry.field(description="Resume with since: seq after a reconnect.")
    type: str = strawberry.field(description="created, updated, deleted, linked or unlinked.")
    label: str = strawberry.field(description="The record's label, or the relationship's type.")
    ids: list[strawberry.ID] = strawberry.field(description="Global ids: the record, or both ends.")
    fields: JSON = strawberry.field(description="Each changed field: [old, new].")
    actor: str
    at: datetime.datetime


_CHANGES = "Changes the subscriber may read, as they are committed."
MAX_SUBSCRIPTIONS_PER_CONNECTION = 50


@strawberry.type
class Subscription:
    @strawberry.subscription(description=_CHANGES)  # type: ignore[untyped-decorator]
    async def changes(
        self,
        info: strawberry.Info,
        labels: list[str] | None = None,
        ids: list[strawberry.ID] | None = None,
        since: int | None = None,
    ) -> AsyncGenerator[ChangeEventType, None]:
        context = info.context
        if context["subscriptions"] >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise GraphQLError(f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection")
        context["subscriptions"] += 1
        try:
            async for event in context["feed"].changes(context["actor"], labels, ids, since):
                yield _as_type(event.seq, event.payload)
        finally:
            context["subscriptions"] -= 1


def _as_type(seq: int, payload: dict[str, Any]) -> ChangeEventType:
    labels = payload.get("labels") or [payload["label"]] * len(payload["ids"])
    return ChangeEventType(
        seq=seq,
        type=payload["type"],
        label=payload["label"],
        ids=[
            strawberry.ID(f"{label}:{record_id}")
            for label, record_id in zip(labels, payload["ids"], strict=True)
        ],
        fields=payload["fields"],
        actor=payload["actor"],
        at=datetime.datetime.fromtimestamp(payload["at"] / 1000, datetime.UTC),
    )
