"""The writes behind mutations: validated by the model, checked against the actor's rights,
and applied in one transaction, so a mutation either happens whole or not at all."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapport.graph.errors import NothingMatched
from rapport.graph.records import NodeRef, Records
from rapport.graph.types import GraphStore, Statement
from rapport.resolvers.access import WriteAccess
from rapport.resolvers.cypher import QueryBuilder
from rapport.resolvers.delete_rules import DEPENDENTS, Dependent
from rapport.resolvers.errors import Forbidden
from rapport.resolvers.filters import RECORD_ID, FilterCompiler, Where, filtered_match
from rapport.resolvers.ids import parse_global_id
from rapport.resolvers.values import stored_value
from rapport.schema.errors import SchemaViolation
from rapport.schema.graphql_model import GraphQLModel, LabelView, ScalarField

_ATTEMPTS = 5


@dataclass(frozen=True)
class UserProblem:
    """One ``userErrors`` entry: the input field (a dotted path), what is wrong, a stable code."""

    field: str | None
    message: str
    code: str


class Rejected(Exception):
    """The input broke the model's rules or named missing records; nothing was written."""

    def __init__(self, problems: list[UserProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class NewRecord:
    """One record to create: its fields and links, and where they sit in the input."""

    fields: Mapping[str, Any]
    connect: Mapping[str, Any] | None
    fields_path: str
    connect_path: str


@dataclass
class Writer:
    """Carries out one mutation field for one actor."""

    store: GraphStore
    model: GraphQLModel
    records: Records
    access: WriteAccess

    # -- operations ---------------------------------------------------------------------
    async def create(self, label: str, items: Sequence[NewRecord]) -> list[str]:
        """Create the records (and their links) atomically; return their ids."""
        self._may_write(label)
        view = self.model.view(label)
        statements: list[Statement] = []
        problems: list[UserProblem] = []
        ids = []
        for item in items:
            try:
                statement, stored = self.records.plan_create(
                    label, self._values(view, item.fields, item.fields_path)
                )
            except SchemaViolation as violation:
                problems += _problems(violation, item.fields_path)
                continue
            node = NodeRef(label, stored["id"])
            ids.append(node.id)
            statements.append(statement)
            statements += self._links(view, node, item.connect, item.connect_path, problems)
            statements += self._ownership(node)
        if problems:
            raise Rejected(problems)
        await self._apply(statements)
        return ids

    async def update(
        self,
        label: str,
        id: str,
        expected_version: int | None,
        changes: Mapping[str, Any] | None,
        connect: Mapping[str, Any] | None,
        disconnect: Mapping[str, Any] | None,
        path: str,
    ) -> str:
        """Change a record and its links; refuse a stale ``expected_version`` (lost updates)."""
        self._may_write(label)
        view = self.model.view(label)
        record_id = self._record_id(id, label, f"{path}.id")
        for _ in range(_ATTEMPTS):
            current = await self._current(view, record_id, path)
            if expected_version is not None and current["version"] != expected_version:
                raise Rejected([_conflict(label, current["version"], expected_version)])
            try:
                update = self.records.plan_update(
                    label, current, self._values(view, changes or {}, f"{path}.set")
                )
            except SchemaViolation as violation:
                raise Rejected(_problems(violation, f"{path}.set")) from None
            problems: list[UserProblem] = []
            node = NodeRef(label, record_id)
            links = self._links(view, node, connect, f"{path}.connect", problems)
            unlinks = self._unlinks(view, node, disconnect, f"{path}.disconnect", problems)
            if problems:
                raise Rejected(problems)
            try:
                await self.store.write_transaction([update, *links, *unlinks])
                return record_id
            except NothingMatched as missed:
                if str(missed) != update.required_match:
                    raise Rejected([_missing(str(missed))]) from None
                if expected_version is not None:
                    raise Rejected([_conflict(label, None, expected_version)]) from None
        raise Rejected([UserProblem(f"{path}.id", f"{label} kept changing; try again", "VERSION_CONFLICT")])

    async def upsert(
        self,
        label: str,
        external_id: str,
        changes: Mapping[str, Any],
        connect: Mapping[str, Any] | None,
        path: str,
    ) -> str:
        """Update the record with this external id, or create it."""
        self._may_write(label)
        rows = await self.store.read(
            f"MATCH (n:{label} {{externalId: $external}}) RETURN n.id AS id LIMIT 1",
            {"external": external_id},
        )
        if rows:
            return await self.update(label, rows[0]["id"], None, changes, connect, None, path)
        item = NewRecord({**changes, "externalId": external_id}, connect, f"{path}.set", f"{path}.connect")
        return (await self.create(label, [item]))[0]

    async def delete(self, label: str, id: str, cascade: bool, path: str) -> str:
        """Delete a record unless its dependents forbid it; with ``cascade``, delete those that may go."""
        self._may_write(label)
        view = self.model.view(label)
        record_id = self._record_id(id, label, f"{path}.id")
        dependents = DEPENDENTS.get(label, ())
        blocking = [d for d in dependents if not (cascade and d.cascade)]
        qb = QueryBuilder()
        filters = FilterCompiler(self.model, qb, lambda _label: None)
        where: Where = {"AND": [self._rule(label), {RECORD_ID: {"eq": record_id}}]}
        if blocking:
            where = {"AND": [where, {"NOT": {"OR": [{d.field: {"some": d.where}} for d in blocking]}}]}
        statements = [
            self._cascade(view, record_id, d, qb, path) for d in dependents if cascade and d.cascade
        ]
        match = filtered_match(f"(n:{label})", filters.node(where, view, "n", path), "n")
        statements.append(
            Statement(
                f"{match} WITH n, n.id AS id DETACH DELETE n RETURN id", qb.params, required_match="delete"
            )
        )
        try:
            await self.store.write_transaction(statements)
        except NothingMatched:
            raise await self._why_not_deleted(view, record_id, blocking, path) from None
        return record_id

    # -- checks -------------------------------------------------------------------------------
    def _may_write(self, label: str) -> None:
        if not self.access.may_write(label):
            raise Forbidden(f"your role may not change {label} records")

    def _rule(self, label: str) -> Where:
        return self.access.rule_for(label) or {}

    async def _current(self, view: LabelView, record_id: str, path: str) -> dict[str, Any]:
        """The record's properties if the actor may change it; else FORBIDDEN or NOT_FOUND."""
        qb = QueryBuilder()
        filters = FilterCompiler(self.model, qb, self.access.rule_for)
        match = filters.match_nodes(view, "n", {RECORD_ID: {"eq": record_id}}, path)
        rows = await self.store.read(f"{match} RETURN properties(n) AS props", qb.params)
        if rows:
            props: dict[str, Any] = rows[0]["props"]
            return props
        raise await self._absent_or_forbidden(view.label, record_id, path)

    async def _absent_or_forbidden(self, label: str, record_id: str, path: str) -> Exception:
        rows = await self.store.read(f"MATCH (n:{label} {{id: $id}}) RETURN count(n) AS n", {"id": record_id})
        if rows[0]["n"]:
            return Forbidden(f"you may not change this {label}")
        return Rejected([UserProblem(f"{path}.id", f"no {label} has this id", "NOT_FOUND")])

    async def _why_not_deleted(
        self, view: LabelView, record_id: str, blocking: list[Dependent], path: str
    ) -> Exception:
        await self._current(view, record_id, path)  # raises when missing or not the actor's
        qb = QueryBuilder()
        filters = FilterCompiler(self.model, qb, lambda _label: None)
        problems = []
        for dependent in blocking:
            condition = filters.node({dependent.field: {"some": dependent.where}}, view, "n", path)
            match = filtered_match(f"(n:{view.label} {{id: {qb.param(record_id)}}})", condition, "n")
            if await self.store.read(f"{match} RETURN n.id AS id", qb.params):
                advice = (
                    "pass cascade: true to delete them too" if dependent.cascade else "reassign them first"
                )
                message = f"this {view.label} has {dependent.description}; {advice}"
                problems.append(UserProblem(f"{path}.cascade", message, "HAS_DEPENDENTS"))
        return Rejected(
            problems or [UserProblem(f"{path}.id", f"the {view.label} changed; try again", "CONFLICT")]
        )

    # -- statements -----------------------------------------------------------------------------
    def _values(self, view: LabelView, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
        return {name: _stored(view.fields[name], value, f"{path}.{name}") for name, value in raw.items()}

    def _record_id(self, value: str, label: str, path: str) -> str:
        if ":" not in value:
            return value
        found, record_id = parse_global_id(value, self.model.labels.keys())
        if found != label:
            raise Rejected([UserProblem(path, f"{value} is not a {label} id", "WRONG_TYPE")])
        return record_id

    def _links(
        self,
        view: LabelView,
        node: NodeRef,
        connect: Mapping[str, Any] | None,
        path: str,
        problems: list[UserProblem],
    ) -> list[Statement]:
        statements = []
        for name, links in (connect or {}).items():
            rel = view.relationships[name]
            for index, link in enumerate(links or ()):
                at = f"{path}.{name}.{index}"
                try:
                    other = NodeRef(rel.other, self._record_id(str(link["id"]), rel.other, f"{at}.id"))
                    raw = link.get("properties") or {}
                    props = {
                        k: _stored(_edge_field(rel.edge_fields, k), v, f"{at}.properties.{k}")
                        for k, v in raw.items()
                    }
                    source, target = (node, other) if rel.direction == "out" else (other, node)
                    statement = self.records.plan_relate(rel.rel_type, source, target, props)
                except Rejected as rejected:
                    problems += rejected.problems
                    continue
                except SchemaViolation as violation:
                    problems += _problems(violation, f"{at}.properties")
                    continue
                message = f"{at}.id: no {rel.other} has id {other.id}"
                statements.append(dataclasses.replace(statement, required_match=message))
        return statements

    def _unlinks(
        self,
        view: LabelView,
        node: NodeRef,
        disconnect: Mapping[str, Any] | None,
        path: str,
        problems: list[UserProblem],
    ) -> list[Statement]:
        statements = []
        for name, ids in (disconnect or {}).items():
            rel = view.relationships[name]
            for index, value in enumerate(ids or ()):
                try:
                    other = NodeRef(
                        rel.other, self._record_id(str(value), rel.other, f"{path}.{name}.{index}")
                    )
                except Rejected as rejected:
                    problems += rejected.problems
                    continue
                source, target = (node, other) if rel.direction == "out" else (other, node)
                statements.append(self.records.plan_unrelate(rel.rel_type, source, target))
        return statements

    def _ownership(self, node: NodeRef) -> list[Statement]:
        link = self.access.owner_link(node.label)
        user_id = self.access.actor.user_id
        if link is None or user_id is None:
            return []
        rel_type, direction = link
        me = NodeRef("User", user_id)
        source, target = (me, node) if direction == "from_actor" else (node, me)
        statement = self.records.plan_relate(rel_type, source, target, {})
        return [dataclasses.replace(statement, required_match="actor: your staff user record does not exist")]

    def _cascade(
        self, view: LabelView, record_id: str, dependent: Dependent, qb: QueryBuilder, path: str
    ) -> Statement:
        rel = view.relationships[dependent.field]
        filters = FilterCompiler(self.model, qb, lambda _label: None)
        condition = filters.node(dependent.where, self.model.view(rel.other), "m", path)
        pattern = rel.pattern(f"n:{view.label} {{id: {qb.param(record_id)}}}", "", "m")
        return Statement(f"{filtered_match(pattern, condition, 'n, m')} DETACH DELETE m", qb.params)

    async def _apply(self, statements: list[Statement]) -> None:
        try:
            await self.store.write_transaction(statements)
        except NothingMatched as missed:
            raise Rejected([_missing(str(missed))]) from None


def _stored(field: ScalarField, value: Any, path: str) -> Any:
    return stored_value(field.kind, value, path)


def _edge_field(fields: tuple[ScalarField, ...], name: str) -> ScalarField:
    return next(f for f in fields if f.name == name)


def _problems(violation: SchemaViolation, path: str) -> list[UserProblem]:
    return [
        UserProblem(f"{path}.{v.field}", f"{v.field} {v.message}", v.rule.upper())
        for v in violation.violations
    ]


def _missing(message: str) -> UserProblem:
    field, _, text = message.partition(": ")
    return UserProblem(field or None, text or message, "NOT_FOUND")


def _conflict(label: str, current: int | None, expected: int) -> UserProblem:
    now = f"it is at version {current}" if current is not None else "it changed meanwhile"
    return UserProblem(
        "expectedVersion", f"the {label} is no longer at version {expected}: {now}", "VERSION_CONFLICT"
    )
