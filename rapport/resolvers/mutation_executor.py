"""Executing a mutation operation: root fields one after another, as the GraphQL spec says.

Each field's write is one transaction (see :mod:`rapport.resolvers.writes`);
its payload's ``record`` is then read back with the client's selection
through the same compiler as queries, so it shows what the actor may read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rapport.auth.actor import Actor
from rapport.events.outbox import Recorded
from rapport.graph.records import Records
from rapport.graph.types import GraphStore
from rapport.resolvers.access import WriteAccess
from rapport.resolvers.errors import RequestError
from rapport.resolvers.executor import FieldError, QueryResult
from rapport.resolvers.ids import global_id
from rapport.resolvers.limits import Limits
from rapport.resolvers.projection import Compiler
from rapport.resolvers.root_fields import records_by_ids
from rapport.resolvers.selection import Fragments, Selected
from rapport.resolvers.writes import Change, NewRecord, Rejected, UserProblem, Writer
from rapport.schema.graphql_model import GraphQLModel, LabelView
from rapport.schema.graphql_mutation_types import mutation_names
from rapport.schema.validation import Schema


@dataclass(frozen=True)
class _Outcome:
    """What a mutation field did: the records to show, or the problems that stopped it."""

    ids: list[str]
    problems: list[UserProblem]
    deleted: list[str] | None = None


@dataclass(frozen=True)
class MutationExecutor:
    store: GraphStore
    model: GraphQLModel
    schema: Schema
    limits: Limits
    timeout: float
    on_commit: Callable[[Recorded], None]  # hands each committed transaction's events to the relay

    async def execute(
        self, operation_fields: dict[str, Selected], fragments: Fragments, actor: Actor
    ) -> QueryResult:
        operations = {
            name: (operation, view)
            for view in self.model.labels.values()
            for name, operation in mutation_names(view).items()
        }
        writer = Writer(
            self.store, self.model, Records(self.store, self.schema), WriteAccess(actor), self.on_commit
        )
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        for key, selected in operation_fields.items():
            if selected.name == "__typename":
                data[key] = "Mutation"
                continue
            operation, view = operations[selected.name]
            try:
                outcome = await self._write(writer, operation, view, selected.args(fragments.variables), key)
                data[key] = await self._payload(view, operation, selected, outcome, fragments, actor)
            except RequestError as error:
                data[key] = None
                errors.append(FieldError(error.message, [key], error.code))
        return QueryResult(data, errors)

    async def _write(
        self, writer: Writer, operation: str, view: LabelView, args: dict[str, Any], path: str
    ) -> _Outcome:
        label = view.label
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
            "create": lambda: writer.create(
                label, [NewRecord(args["fields"], args.get("connect"), f"{path}.fields", f"{path}.connect")]
            ),
            "create_batch": lambda: writer.create(
                label,
                [
                    NewRecord(
                        item["fields"],
                        item.get("connect"),
                        f"{path}.items.{i}.fields",
                        f"{path}.items.{i}.connect",
                    )
                    for i, item in enumerate(args["items"])
                ],
            ),
            "update": lambda: writer.update(label, [_change(args, path)]),
            "update_batch": lambda: writer.update(
                label, [_change(item, f"{path}.items.{i}") for i, item in enumerate(args["items"])]
            ),
            "upsert": lambda: writer.upsert(
                label, args["externalId"], args["set"], args.get("connect"), path
            ),
            "delete": lambda: writer.delete(label, [(str(args["id"]), path)], bool(args.get("cascade"))),
            "delete_batch": lambda: writer.delete(
                label,
                [(str(id), f"{path}.ids.{i}") for i, id in enumerate(args["ids"])],
                bool(args.get("cascade")),
            ),
        }
        try:
            result = await steps[operation]()
        except Rejected as rejected:
            return _Outcome([], rejected.problems)
        ids = result if isinstance(result, list) else [result]
        if operation.startswith("delete"):
            return _Outcome([], [], deleted=[global_id(label, record_id) for record_id in ids])
        return _Outcome(ids, [])

    async def _payload(
        self,
        view: LabelView,
        operation: str,
        selected: Selected,
        outcome: _Outcome,
        fragments: Fragments,
        actor: Actor,
    ) -> dict[str, Any]:
        type_name = {
            "delete": "DeletePayload",
            "delete_batch": "DeleteBatchPayload",
            "create_batch": f"{view.label}BatchPayload",
            "update_batch": f"{view.label}BatchPayload",
        }.get(operation, f"{view.label}Payload")
        payload: dict[str, Any] = {}
        for key, part in fragments.sub(selected, {type_name}).items():
            if part.name == "userErrors":
                wanted = fragments.sub(part, {"UserError"})
                payload[key] = [_user_error(problem, wanted) for problem in outcome.problems]
            elif part.name == "deletedId":
                payload[key] = outcome.deleted[0] if outcome.deleted else None
            elif part.name == "deletedIds":
                payload[key] = outcome.deleted or []
            elif part.name in ("record", "records"):
                payload[key] = await self._read_back(
                    view, part, outcome.ids, fragments, actor, single=part.name == "record"
                )
            else:
                payload[key] = type_name
        return payload

    async def _read_back(
        self,
        view: LabelView,
        selected: Selected,
        ids: list[str],
        fragments: Fragments,
        actor: Actor,
        *,
        single: bool,
    ) -> Any:
        if not ids:
            return None if single else []
        compiler = Compiler.for_actor(self.model, fragments, actor, self.limits, self.store.dialect)
        query = records_by_ids(compiler, selected, [(view, record_id) for record_id in ids], single=single)
        rows = await self.store.read(query.cypher or "", compiler.qb.params, timeout=self.timeout)
        result = query.finish(rows)
        return result if single else [record for record in result if record is not None]


def _change(args: dict[str, Any], path: str) -> Change:
    return Change(
        str(args["id"]),
        args.get("expectedVersion"),
        args.get("set"),
        args.get("connect"),
        args.get("disconnect"),
        path,
    )


def _user_error(problem: UserProblem, wanted: dict[str, Selected]) -> dict[str, Any]:
    values = {
        "field": problem.field,
        "message": problem.message,
        "code": problem.code,
        "__typename": "UserError",
    }
    return {key: values[part.name] for key, part in wanted.items()}
