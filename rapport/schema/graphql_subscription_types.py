"""The subscription half of the generated GraphQL schema: committed changes as they happen.

- ``changes(labels, ids, where, since)``: every change event the subscriber may read.
- ``<label>Changed(where, since)`` per label (``dealChanged``, ``accountChanged``...): the
  record as it is after each change, with the selection the client asked for, when it
  matches ``where``.
- ``scoreChanged(where, minDelta, since)``: a score the scoring models wrote moved.

``since`` replays what the event stream still holds after that sequence number,
then goes live. Like queries, subscriptions are executed by
:mod:`rapport.resolvers.subscriptions`, not by per-field resolvers; the fields
here carry the schema (names, arguments, types) only.
"""

from __future__ import annotations

import datetime

import strawberry
from strawberry.scalars import JSON

from rapport.schema.graphql_model import GraphQLModel, LabelView
from rapport.schema.graphql_namespace import Namespace, optional, unset_inputs

MAX_SUBSCRIPTIONS_PER_CONNECTION = 50
CHANGE_TYPES = ("created", "updated", "deleted", "linked", "unlinked")


@strawberry.type(name="ChangeEvent", description="One committed change, numbered in commit order.")
class ChangeEventType:
    seq: int = strawberry.field(description="Resume with since: seq after a reconnect.")
    type: str = strawberry.field(description="created, updated, deleted, linked or unlinked.")
    label: str = strawberry.field(description="The record's label, or the relationship's type.")
    ids: list[strawberry.ID] = strawberry.field(description="Global ids: the record, or both ends.")
    fields: JSON = strawberry.field(description="Each changed field: [old, new].")
    actor: str
    at: datetime.datetime


@strawberry.input(description="Conditions on the change itself; all given ones must hold.")
class ChangeWhere:
    types: list[str] | None = strawberry.field(
        default=None, description="Only these change types (created, updated, deleted, linked, unlinked)."
    )
    changedFields: list[str] | None = strawberry.field(
        default=None, description="Only changes to at least one of these fields."
    )
    actors: list[str] | None = strawberry.field(default=None, description="Only changes made by these.")


@strawberry.type(description="A score the scoring models wrote changed by at least minDelta.")
class ScoreChange:
    seq: int
    score: str = strawberry.field(description="The score field, e.g. churnRisk or winProbability.")
    label: str
    id: strawberry.ID = strawberry.field(description="The global id of the scored record.")
    oldValue: float | None
    newValue: float | None
    delta: float = strawberry.field(description="newValue - oldValue (a missing value counts as 0).")
    actor: str
    at: datetime.datetime


def _change_type(ns: Namespace, view: LabelView) -> str:
    """``<Label>Change``: the change and the record as it stands after it (null once deleted)."""
    name = f"{view.label}Change"
    ns.add(
        name,
        {"seq": "int", "type": "str", "fields": "JSON", "actor": "str", "at": "datetime.datetime"}
        | {record_field(view): optional(view.label)},
        description=f"A committed change to the {view.label} in {record_field(view)}, as it is now.",
    )
    return name


def record_field(view: LabelView) -> str:
    """The field of ``<Label>Change`` holding the record: ``deal``, ``account``..."""
    return view.label[:1].lower() + view.label[1:]


def typed_subscription_names(model: GraphQLModel) -> dict[str, LabelView]:
    """``dealChanged`` -> the Deal view, and so on for every label."""
    return {f"{record_field(view)}Changed": view for view in model.labels.values()}


def add_subscription_type(ns: Namespace, model: GraphQLModel) -> type:
    ns.share(ChangeEventType, ChangeWhere, ScoreChange)
    setattr(ns.module, "JSON", JSON)  # noqa: B010 (JSON is a value, not a class share() can name)
    since = ("typing.Optional[int]", None)
    scored = [view for view in model.labels.values() if view.scores]
    unset_inputs(
        ns,
        "ScoreChangeWhere",
        {"labels": "list[str]", "scores": "list[str]", "ids": "list[strawberry.ID]"},
        "Which scores to watch: of these labels, these score fields, these records.",
    )
    defaults = {
        "changes": ns.field(
            "ChangeEventType",
            {
                "labels": ("typing.Optional[list[str]]", None),
                "ids": ("typing.Optional[list[strawberry.ID]]", None),
                "where": ("typing.Optional[ChangeWhere]", None),
                "since": since,
            },
            description="Changes the subscriber may read, as they are committed.",
        ),
        "scoreChanged": ns.field(
            "ScoreChange",
            {
                "where": ("typing.Optional[ScoreChangeWhere]", None),
                "minDelta": ("float", 0.0),
                "since": since,
            },
            description="Scores that moved by at least minDelta; scored labels: "
            + ", ".join(f"{v.label} ({', '.join(v.scores)})" for v in scored)
            + ".",
        ),
    }
    for name, view in typed_subscription_names(model).items():
        defaults[name] = ns.field(
            _change_type(ns, view),
            {"where": (f"typing.Optional[{view.label}Where]", None), "since": since},
            description=f"Changes to {view.plural} matching where (as they are after the change), each "
            "with the record as it is now; deletions only where no where is given.",
        )
    ns.add("Subscription", {}, defaults=defaults)
    subscription: type = ns.module.Subscription
    return subscription
