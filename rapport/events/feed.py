"""What one subscriber receives: the hub's events, narrowed to what was asked and may be read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from rapport.auth.actor import Actor
from rapport.events.hub import EventHub, StreamEvent
from rapport.graph.types import GraphStore
from rapport.resolvers.access import read_rules
from rapport.resolvers.cypher import QueryBuilder
from rapport.resolvers.filters import RECORD_ID, FilterCompiler
from rapport.schema.graphql_model import GraphQLModel


@dataclass(frozen=True)
class ChangeFeed:
    hub: EventHub
    store: GraphStore
    model: GraphQLModel

    async def changes(
        self, actor: Actor, labels: Sequence[str] | None, ids: Sequence[str] | None, since: int | None
    ) -> AsyncIterator[StreamEvent]:
        """The events after ``since`` (then live) on ``labels`` and ``ids`` that ``actor`` may read."""
        wanted_ids = {str(i).partition(":")[2] or str(i) for i in ids or ()}
        async for event in self.hub.events(since):
            payload = event.payload
            if labels and payload["label"] not in labels:
                continue
            if wanted_ids and not wanted_ids & set(payload["ids"]):
                continue
            if await self._readable(actor, event):
                yield event

    async def _readable(self, actor: Actor, event: StreamEvent) -> bool:
        """Whether every record the event names is one the actor may read now (record rules)."""
        payload = event.payload
        rule_for = read_rules(actor)
        involved = list(zip(payload.get("labels") or [payload["label"]], payload["ids"], strict=True))
        for label, record_id in involved:
            if rule_for(label) is None:
                continue
            if payload["type"] == "deleted":
                return False  # a deleted record cannot be checked any more: show it only to the unrestricted
            qb = QueryBuilder()
            filters = FilterCompiler(self.model, qb, rule_for)
            match = filters.match_nodes(self.model.view(label), "n", {RECORD_ID: {"eq": record_id}}, "event")
            if not await self.store.read(f"{match} RETURN n.id AS id", qb.params):
                return False
        return True
