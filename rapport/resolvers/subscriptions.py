"""Subscription operations, executed like queries: the hub's events, narrowed to what was asked
and may be read, shaped to the client's selection.

A typed subscription (``dealChanged``...) reads the changed record with one compiled query per
event, the subscriber's record rules and ``where`` inside it: a record the subscriber may not
read, or that does not match, is simply not delivered. Identical reads for one event (many
subscribers with the same subscription and rules) share one database round trip.
``changes`` and ``scoreChanged`` need a query only for subscribers whose reads of that label
are restricted; their results are built and JSON-encoded once per event for every subscriber
with the same selection (an ``orjson.Fragment`` in the result: the server encodes with orjson).

Subscribers take events in batches (what arrived together), so each stream yields, per batch,
the list of its deliveries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import orjson
from graphql import FieldNode

from rapport.auth.actor import Actor
from rapport.events.hub import EventHub, StreamEvent
from rapport.graph.types import GraphStore, Record
from rapport.lru import LRU
from rapport.resolvers.access import read_rules
from rapport.resolvers.cypher import QueryBuilder
from rapport.resolvers.errors import UserInputError
from rapport.resolvers.filters import RECORD_ID, FilterCompiler, RuleFor
from rapport.resolvers.ids import parse_global_id
from rapport.resolvers.limits import Limits
from rapport.resolvers.projection import Compiler
from rapport.resolvers.root_fields import records_by_ids
from rapport.resolvers.selection import Fragments, Selected
from rapport.resolvers.values import datetime_of
from rapport.schema.graphql_model import GraphQLModel, LabelView
from rapport.schema.graphql_subscription_types import CHANGE_TYPES, record_field, typed_subscription_names

# The results an event brings one subscription (none when it is not for it).
EventResults = Callable[[StreamEvent], list[dict[str, Any]]]
# Sends results at once where it can (True); False: they must come through the stream.
SendNow = Callable[[list[dict[str, Any]]], bool]
# Sub-selections by (field node id, type name, variables): see _Operation.fields.
SharedSelections = LRU[tuple[FieldNode, dict[str, Selected]]]


@dataclass(frozen=True)
class _Operation:
    """One subscription operation: its root field, the request around it, who asked."""

    selected: Selected
    fragments: Fragments
    actor: Actor
    on_overflow: Callable[[], None]
    rule_for: RuleFor  # the actor's read rule per label
    restricted: frozenset[str]  # the labels of which the actor may read only some records

    @property
    def args(self) -> dict[str, Any]:
        return self.selected.args(self.fragments.variables)

    def fields(self, type_name: str, shared: SharedSelections) -> dict[str, Selected]:
        """The sub-selection on ``type_name``, one object (kept in ``shared``) for every operation of the
        same document and variables: ten thousand subscribers of one document hold one, not their own."""
        node = self.selected.nodes[0]  # the document's (the document cache hands out one per text)
        variables = orjson.dumps(self.fragments.variables, option=orjson.OPT_SORT_KEYS)
        key = (id(node), type_name, variables)
        if (found := shared.get(key)) is not None and found[0] is node:  # not a freed node's id reused
            return found[1]
        selection = self.fragments.sub(self.selected, {type_name})
        shared.put(key, (node, selection))
        return selection


@dataclass(frozen=True)
class SubscriptionExecutor:
    hub: EventHub
    store: GraphStore
    model: GraphQLModel
    limits: Limits
    timeout: float
    _reads: dict[Hashable, asyncio.Future[list[Record]]] = field(default_factory=dict)
    _selections: SharedSelections = field(default_factory=lambda: LRU(1_000))

    def stream(
        self,
        selected: Selected,
        fragments: Fragments,
        actor: Actor,
        on_overflow: Callable[[], None],
        send_now: SendNow | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The results of the subscription field ``selected``: per batch of events, a ``{key: value}``
        per delivery (batches that deliver nothing are left out).

        ``send_now``, where the transport offers it, takes the results of ``changes`` and
        ``scoreChanged`` events the subscriber may read without a query, as they arrive, while the
        stream waits caught up; it returns False when they must come through the stream instead."""
        rule_for = read_rules(actor)
        restricted = _frozen(label for label in self.model.labels if rule_for(label) is not None)
        operation = _Operation(selected, fragments, actor, on_overflow, rule_for, restricted)
        if selected.name == "changes":
            return self._results(operation, self._change_results, send_now)
        if selected.name == "scoreChanged":
            return self._results(operation, self._score_results, send_now)
        typed = typed_subscription_names(self.model)
        if selected.name in typed:
            return self._record_changes(operation, typed[selected.name])
        raise UserInputError(f"{selected.name} is not a subscription field", selected.key)

    async def _results(
        self,
        operation: _Operation,
        results_for: Callable[[_Operation], EventResults],
        send_now: SendNow | None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The stream of an operation whose results come from each event alone (``results_for`` the
        operation: its arguments checked as the stream starts), once the actor may read what the
        event names."""
        results_of = results_for(operation)
        direct = partial(_handle_now, operation, results_of, send_now) if send_now is not None else None
        async for events in self.hub.batches(operation.args.get("since"), operation.on_overflow, direct):
            delivered = []
            for event in events:
                results = results_of(event)
                if results and await self._readable(operation, event):
                    delivered.extend(results)
            if delivered:
                yield delivered

    def _change_results(self, operation: _Operation) -> EventResults:
        args = operation.args
        labels = _frozen(args.get("labels") or ())
        wanted_ids = _frozen(self._record_id(i) for i in args.get("ids") or ())
        where = args.get("where") or {}
        types = _frozen(where.get("types") or ())
        if unknown := types - set(CHANGE_TYPES):
            raise UserInputError(
                f"where.types: {', '.join(sorted(unknown))} is not a change type; "
                f"one of {', '.join(CHANGE_TYPES)}",
                operation.selected.key,
            )
        changed = _frozen(where.get("changedFields") or ())
        actors = _frozen(where.get("actors") or ())
        selection = operation.fields("ChangeEvent", self._selections)
        shape = _Shape(operation.selected.key, "ChangeEvent", selection)

        def results_of(event: StreamEvent) -> list[dict[str, Any]]:
            payload = event.payload
            if (
                (labels and payload["label"] not in labels)
                or (wanted_ids and not wanted_ids & set(payload["ids"]))
                or (types and payload["type"] not in types)
                or (changed and not changed & set(payload["fields"]))
                or (actors and payload["actor"] not in actors)
            ):
                return []
            return [shape.shared(event, _change_values)]

        return results_of

    async def _record_changes(
        self, operation: _Operation, view: LabelView
    ) -> AsyncIterator[list[dict[str, Any]]]:
        args = operation.args
        where = args.get("where")
        type_name = f"{view.label}Change"
        selection = operation.fields(type_name, self._selections)
        records = [s for s in selection.values() if s.name == record_field(view)]
        async for events in self.hub.batches(args.get("since"), operation.on_overflow):
            results = []
            for event in events:
                payload = event.payload
                for label, record_id in _involved(payload):
                    if label != view.label:
                        continue
                    if payload["type"] == "deleted":
                        if where or label in operation.restricted:
                            continue  # a deleted record can be checked against nothing any more
                        found: dict[str, Any] | None = {s.key: None for s in records}
                    else:
                        found = await self._records(operation, event.seq, view, record_id, where, records)
                        if found is None:
                            continue  # not readable, or not matching where
                    shaped = _shape(selection, type_name, _change_values(event), by_key=found)
                    results.append({operation.selected.key: shaped})
            if results:
                yield results

    async def _records(
        self,
        operation: _Operation,
        seq: int,
        view: LabelView,
        record_id: str,
        where: Mapping[str, Any] | None,
        records: Sequence[Selected],
    ) -> dict[str, Any] | None:
        """The record as each of ``records`` (its aliases) selects it; ``None`` when it is not
        readable or does not match ``where``."""
        if not records:
            return {} if await self._matches(operation, seq, view, record_id, where) else None
        found: dict[str, Any] = {}
        for selected in records:
            compiler = Compiler.for_actor(
                self.model, operation.fragments, operation.actor, self.limits, self.store.dialect
            )
            query = records_by_ids(compiler, selected, [(view, record_id)], single=True, where=where)
            assert query.cypher is not None  # a known label always needs the database
            record = query.finish(await self._read(seq, query.cypher, compiler.qb.params))
            if record is None:
                return None
            found[selected.key] = record
        return found

    def _score_results(self, operation: _Operation) -> EventResults:
        args = operation.args
        where = args.get("where") or {}
        scored = {label: view for label, view in self.model.labels.items() if view.scores}
        labels = set(where.get("labels") or scored)
        if unknown := labels - set(scored):
            raise UserInputError(
                f"where.labels: {', '.join(sorted(unknown))} has no scores; scored: {', '.join(scored)}",
                operation.selected.key,
            )
        scores = _frozen(where.get("scores") or ())
        wanted_ids = _frozen(self._record_id(i) for i in where.get("ids") or ())
        min_delta = float(args.get("minDelta") or 0.0)
        selection = operation.fields("ScoreChange", self._selections)
        shapes = {
            score: (
                _Shape(operation.selected.key, "ScoreChange", selection, score),
                partial(_score_values, score=score),
            )
            for view in scored.values()
            for score in view.scores
        }

        def results_of(event: StreamEvent) -> list[dict[str, Any]]:
            payload = event.payload
            label, record_id = payload["label"], payload["ids"][0]
            if payload["type"] != "updated" or label not in labels:
                return []
            if wanted_ids and record_id not in wanted_ids:
                return []
            return [
                shape.shared(event, values)
                for score in scored[label].scores
                if (not scores or score in scores) and score in payload["fields"]
                for old, new in [payload["fields"][score]]
                if abs((new or 0) - (old or 0)) >= min_delta
                for shape, values in [shapes[score]]
            ]

        return results_of

    def _record_id(self, value: Any) -> str:
        """The record id of a global id (or of a bare record id)."""
        try:
            return parse_global_id(str(value), self.model.labels.keys())[1]
        except UserInputError:
            return str(value)

    async def _readable(self, operation: _Operation, event: StreamEvent) -> bool:
        """Whether every record the event names is one the actor may read now (record rules)."""
        if _unrestricted(operation, event):
            return True
        payload = event.payload
        for label, record_id in _involved(payload):
            if label not in operation.restricted:
                continue
            if payload["type"] == "deleted":
                return False  # a deleted record cannot be checked any more: show it only to the unrestricted
            if not await self._matches(operation, event.seq, self.model.view(label), record_id, None):
                return False
        return True

    async def _matches(
        self,
        operation: _Operation,
        seq: int,
        view: LabelView,
        record_id: str,
        where: Mapping[str, Any] | None,
    ) -> bool:
        """Whether the record exists, the actor may read it, and it matches ``where``."""
        qb = QueryBuilder()
        filters = FilterCompiler(self.model, qb, operation.rule_for)
        match = filters.match_nodes(view, "n", {**(where or {}), RECORD_ID: {"eq": record_id}}, "event")
        return bool(await self._read(seq, f"{match} RETURN n.id AS id", qb.params))

    async def _read(self, seq: int, cypher: str, params: dict[str, Any]) -> list[Record]:
        """The rows of a read made for event ``seq``. Subscribers asking the same for the same event
        (the many identical subscriptions one event reaches) share one database round trip."""
        key = (seq, cypher, orjson.dumps(params, option=orjson.OPT_SORT_KEYS))
        pending = self._reads.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self.store.read(cypher, params, timeout=self.timeout))
            self._reads[key] = pending
            pending.add_done_callback(lambda _: self._reads.pop(key, None))
        return await asyncio.shield(pending)  # one subscriber leaving does not cancel the others' read


_NOTHING: frozenset[str] = frozenset()


def _frozen(values: Iterable[str]) -> frozenset[str]:
    """``values`` as a set, the one shared empty set where there are none: a subscription keeps a
    set per filter for its whole life, mostly empty ones, and each empty set costs 200 bytes."""
    return frozenset(values) or _NOTHING


def _handle_now(
    operation: _Operation, results_of: EventResults, send_now: SendNow, events: list[StreamEvent]
) -> bool:
    """Live events handled as they arrive (see :meth:`EventHub.batches`): their results sent in one
    go, or none for this subscriber. False where a record rule applies to one of them: the stream
    asks the database first."""
    if not all(_unrestricted(operation, event) for event in events):
        return False
    results = [result for event in events for result in results_of(event)]
    return not results or send_now(results)


def _unrestricted(operation: _Operation, event: StreamEvent) -> bool:
    """Whether no record rule of the actor restricts what the event names (most subscribers, most
    events): it is readable without asking the database."""
    payload = event.payload
    return not operation.restricted or operation.restricted.isdisjoint(
        payload.get("labels") or (payload["label"],)
    )


def _involved(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, record id)`` of each record an event names: the record, or both ends."""
    labels = payload.get("labels") or [payload["label"]] * len(payload["ids"])
    return list(zip(labels, payload["ids"], strict=True))


def _score_values(event: StreamEvent, score: str) -> dict[str, Any]:
    payload = event.payload
    label, record_id = payload["label"], payload["ids"][0]
    old, new = payload["fields"][score]
    return {
        "seq": event.seq, "score": score, "label": label, "id": f"{label}:{record_id}",
        "oldValue": old, "newValue": new, "delta": (new or 0) - (old or 0),
        "actor": payload["actor"], "at": datetime_of(payload["at"]),
    }  # fmt: skip


def _change_values(event: StreamEvent) -> dict[str, Any]:
    payload = event.payload
    return {
        "seq": event.seq,
        "type": payload["type"],
        "label": payload["label"],
        "ids": [f"{label}:{record_id}" for label, record_id in _involved(payload)],
        "fields": payload["fields"],
        "actor": payload["actor"],
        "at": datetime_of(payload["at"]),
    }


def _shape(
    selection: Mapping[str, Selected],
    type_name: str,
    values: Mapping[str, Any],
    by_key: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The response object for ``selection``: each key's value from ``by_key`` (values already
    shaped per alias), else from ``values`` by field name."""
    by_key = by_key or {}
    return {
        key: by_key[key]
        if key in by_key
        else type_name
        if selected.name == "__typename"
        else values[selected.name]
        for key, selected in selection.items()
    }


@dataclass(frozen=True)
class _Shape:
    """A result every subscriber with the same root key and selection gets alike for an event
    (``detail`` tells apart several results of one event, e.g. the score that moved)."""

    key: str
    type_name: str
    selection: Mapping[str, Selected]
    detail: str = ""

    def shared(
        self, event: StreamEvent, values: Callable[[StreamEvent], Mapping[str, Any]]
    ) -> dict[str, Any]:
        """``{key: value}`` for ``event``, the value shaped from ``values(event)``, built and encoded
        once for all subscribers asking alike and kept with the event."""
        result: dict[str, Any] | None = event.shared.get(self._memo)
        if result is None:
            shaped = _shape(self.selection, self.type_name, values(event))
            result = event.shared[self._memo] = {self.key: orjson.Fragment(orjson.dumps(shaped))}
        return result

    @cached_property
    def _memo(self) -> str:
        """What tells this shape apart in an event's ``shared``: a string, whose hash Python keeps,
        where a tuple's would be worked out again for every event and subscriber."""
        fields = (f"{key}:{selected.name}" for key, selected in self.selection.items())
        return "\0".join((self.key, self.type_name, self.detail, *fields))
