"""The writes behind mutations: validated by the model, checked against the actor's rights,
and applied in one transaction, so a mutation either happens whole or not at all."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.events.outbox import (
    ChangeEvent,
    ChangeType,
    Recorded,
    link_event,
    outbox_statement,
    record_changes,
    recorded,
)
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


_RACE = UserProblem(None, "a record this change depends on changed meanwhile; try again", "CONFLICT")


@dataclass
class _Plan:
    """The statements of one mutation, the problems found planning it, and the records it links to."""

    statements: list[Statement] = field(default_factory=list)
    problems: list[UserProblem] = field(default_factory=list)
    linked: list[tuple[NodeRef, str]] = field(default_factory=list)  # with the input path naming each
    events: list[ChangeEvent] = field(default_factory=list)  # what the outbox records


@dataclass(frozen=True)
class Change:
    """One record to change: its id, the version the client read, what to set and to (un)link."""

    id: str
    expected_version: int | None
    set: Mapping[str, Any] | None
    connect: Mapping[str, Any] | None
    disconnect: Mapping[str, Any] | None
    path: str


@dataclass
class Writer:
    """Carries out one mutation field for one actor."""

    store: GraphStore
    model: GraphQLModel
    records: Records
    access: WriteAccess
    on_commit: Callable[[Recorded], None]  # told what each committed transaction recorded

    # -- operations ---------------------------------------------------------------------
    async def create(self, label: str, items: Sequence[NewRecord]) -> list[str]:
        """Create the records (and their links) atomically; return their ids."""
        self._may_write(label)
        view = self.model.view(label)
        plan = _Plan()
        created = []
        for item in items:
            try:
                stored = self.records.new_node(label, self._values(view, item.fields, item.fields_path))
            except SchemaViolation as violation:
                plan.problems += _problems(violation, item.fields_path)
                continue
            created.append(stored)
            node = NodeRef(label, stored["id"])
            plan.events.append(
                ChangeEvent(ChangeType.CREATED, label, (node.id,), record_changes(None, stored))
            )
            self._links(plan, view, node, item.connect, item.connect_path)
            self._ownership(plan, node)
        if created:  # every node first, in one statement; the links above find them
            plan.statements.insert(0, self.records.create_statement(label, created))
        try:
            await self._commit(plan)
        except NothingMatched:
            raise Rejected([_RACE]) from None
        return [stored["id"] for stored in created]

    async def update(self, label: str, changes: Sequence[Change]) -> list[str]:
        """Change records and their links atomically; refuse a stale ``expected_version`` (lost updates).

        Without an expected version a record that changed between the read and
        the write is read again and the change re-applied.
        """
        self._may_write(label)
        view = self.model.view(label)
        for _ in range(_ATTEMPTS):
            plan = _Plan()
            read = {}  # record id -> (the version read, its change)
            for change in changes:
                record_id, version = await self._plan_change(plan, view, change)
                read[record_id] = (version, change)
            try:
                await self._commit(plan)
                return list(read)
            except NothingMatched:
                now = await self.store.read(
                    f"MATCH (n:{label}) WHERE n.id IN $ids RETURN n.id AS id, n.version AS version",
                    {"ids": list(read)},
                )
                stale = [read[row["id"]][1] for row in now if row["version"] != read[row["id"]][0]]
                if not stale:
                    raise Rejected([_RACE]) from None
                pinned = [c for c in stale if c.expected_version is not None]
                if pinned:
                    raise Rejected([_conflict(label, None, pinned[0])]) from None
        raise Rejected(
            [UserProblem(changes[0].path, f"{label} kept changing; try again", "VERSION_CONFLICT")]
        )

    async def _plan_change(self, plan: _Plan, view: LabelView, change: Change) -> tuple[str, int]:
        """Add one change to ``plan`` (the version-guarded update, then links); return the record id
        and the version the update expects."""
        record_id = self._record_id(change.id, view.label, f"{change.path}.id")
        current = await self._current(view, record_id, change.path)
        if change.expected_version is not None and current["version"] != change.expected_version:
            raise Rejected([_conflict(view.label, current["version"], change)])
        try:
            values = self._values(view, change.set or {}, f"{change.path}.set")
            update, after = self.records.plan_update(view.label, current, values)
            plan.statements.append(update)
            changed = record_changes(current, after)
            plan.events.append(ChangeEvent(ChangeType.UPDATED, view.label, (record_id,), changed))
        except SchemaViolation as violation:
            plan.problems += _problems(violation, f"{change.path}.set")
        node = NodeRef(view.label, record_id)
        self._links(plan, view, node, change.connect, f"{change.path}.connect")
        self._unlinks(plan, view, node, change.disconnect, f"{change.path}.disconnect")
        return record_id, int(current["version"])

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
            return (await self.update(label, [Change(rows[0]["id"], None, changes, connect, None, path)]))[0]
        item = NewRecord({**changes, "externalId": external_id}, connect, f"{path}.set", f"{path}.connect")
        return (await self.create(label, [item]))[0]

    async def delete(self, label: str, targets: Sequence[tuple[str, str]], cascade: bool) -> list[str]:
        """Delete records (``(id, input path)`` pairs) atomically unless dependents forbid it;
        with ``cascade``, delete the dependents that may go with them."""
        self._may_write(label)
        view = self.model.view(label)
        dependents = DEPENDENTS.get(label, ())
        blocking = [d for d in dependents if not (cascade and d.cascade)]
        qb = QueryBuilder()
        filters = FilterCompiler(self.model, qb, lambda _label: None)
        statements = []
        record_ids = []
        events = []
        for id, path in targets:
            record_id = self._record_id(id, label, f"{path}.id")
            record_ids.append(record_id)
            for dependent in (d for d in dependents if cascade and d.cascade):
                doomed = await self._dependents(view, record_id, dependent, path)
                other = view.relationships[dependent.field].other
                statements.append(
                    Statement(f"MATCH (m:{other}) WHERE m.id IN $ids DETACH DELETE m", {"ids": doomed})
                )
                events += [ChangeEvent(ChangeType.DELETED, other, (doomed_id,)) for doomed_id in doomed]
            events.append(ChangeEvent(ChangeType.DELETED, label, (record_id,)))
            where: Where = {"AND": [self._rule(label), {RECORD_ID: {"eq": record_id}}]}
            if blocking:
                where = {"AND": [where, {"NOT": {"OR": [{d.field: {"some": d.where}} for d in blocking]}}]}
            match = filtered_match(f"(n:{label})", filters.node(where, view, "n", path), "n")
            statements.append(
                Statement(
                    f"{match} WITH n, n.id AS id DETACH DELETE n RETURN id", qb.params, required_match=path
                )
            )
        try:
            await self._write(statements, events)
        except NothingMatched:
            for record_id, (_, path) in zip(record_ids, targets, strict=True):
                reason = await self._why_not_deleted(view, record_id, blocking, path)
                if reason is not None:
                    raise reason from None
            raise Rejected([_RACE]) from None
        return record_ids

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
    ) -> Exception | None:
        """Why this record cannot be deleted (missing, not the actor's, dependents); ``None`` if it can."""
        try:
            await self._current(view, record_id, path)
        except (Rejected, Forbidden) as reason:
            return reason
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
        return Rejected(problems) if problems else None

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
        self, plan: _Plan, view: LabelView, node: NodeRef, connect: Mapping[str, Any] | None, path: str
    ) -> None:
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
                    plan.problems += rejected.problems
                    continue
                except SchemaViolation as violation:
                    plan.problems += _problems(violation, f"{at}.properties")
                    continue
                plan.statements.append(statement)
                plan.linked.append((other, f"{at}.id"))
                plan.events.append(link_event(ChangeType.LINKED, rel.rel_type, source, target, props))

    def _unlinks(
        self, plan: _Plan, view: LabelView, node: NodeRef, disconnect: Mapping[str, Any] | None, path: str
    ) -> None:
        for name, ids in (disconnect or {}).items():
            rel = view.relationships[name]
            for index, value in enumerate(ids or ()):
                try:
                    other = NodeRef(
                        rel.other, self._record_id(str(value), rel.other, f"{path}.{name}.{index}")
                    )
                except Rejected as rejected:
                    plan.problems += rejected.problems
                    continue
                source, target = (node, other) if rel.direction == "out" else (other, node)
                plan.statements.append(self.records.plan_unrelate(rel.rel_type, source, target))
                plan.events.append(link_event(ChangeType.UNLINKED, rel.rel_type, source, target, {}))

    def _ownership(self, plan: _Plan, node: NodeRef) -> None:
        """Make a new record its creator's where the rules would otherwise hide it from them."""
        link = self.access.owner_link(node.label)
        user_id = self.access.actor.user_id
        if link is None or user_id is None:
            return
        rel_type, direction = link
        me = NodeRef("User", user_id)
        source, target = (me, node) if direction == "from_actor" else (node, me)
        plan.statements.append(self.records.plan_relate(rel_type, source, target, {}))
        plan.linked.append((me, "actor (the token's user)"))
        plan.events.append(link_event(ChangeType.LINKED, rel_type, source, target, {}))

    async def _dependents(
        self, view: LabelView, record_id: str, dependent: Dependent, path: str
    ) -> list[str]:
        """Ids of the records ``cascade`` deletes with this one (read first, so each gets its event;
        a dependent added meanwhile is then detached, not deleted unannounced)."""
        rel = view.relationships[dependent.field]
        qb = QueryBuilder()
        condition = FilterCompiler(self.model, qb, lambda _label: None).node(
            dependent.where, self.model.view(rel.other), "m", path
        )
        pattern = rel.pattern(f"n:{view.label} {{id: {qb.param(record_id)}}}", "", "m")
        rows = await self.store.read(
            f"{filtered_match(pattern, condition, 'n, m')} RETURN m.id AS id", qb.params
        )
        return [row["id"] for row in rows]

    async def _commit(self, plan: _Plan) -> None:
        """Write ``plan`` in one transaction once every problem and missing link is ruled out.

        :class:`NothingMatched` from the write then means another writer got
        in between; the caller decides what that means for its operation.
        """
        if plan.problems:
            raise Rejected(plan.problems)
        missing = await self._missing(plan.linked)
        if missing:
            raise Rejected(missing)
        await self._write(plan.statements, plan.events)

    async def _write(self, statements: list[Statement], events: list[ChangeEvent]) -> None:
        """Write ``statements`` and the outbox records of ``events`` in one transaction."""
        outbox = outbox_statement(events, self.access.actor)
        results = await self.store.write_transaction([*statements, outbox])
        done = recorded(outbox, results[-1])
        if done is not None:
            self.on_commit(done)

    async def _missing(self, linked: list[tuple[NodeRef, str]]) -> list[UserProblem]:
        """A NOT_FOUND problem for each linked record that does not exist."""
        labels = {ref.label for ref, _ in linked}
        existing = set()
        for label in labels:
            ids = [ref.id for ref, _ in linked if ref.label == label]
            rows = await self.store.read(
                f"MATCH (n:{label}) WHERE n.id IN $ids RETURN n.id AS id", {"ids": ids}
            )
            existing |= {(label, row["id"]) for row in rows}
        return [
            UserProblem(path, f"no {ref.label} has id {ref.id}", "NOT_FOUND")
            for ref, path in linked
            if (ref.label, ref.id) not in existing
        ]


def _stored(field: ScalarField, value: Any, path: str) -> Any:
    return stored_value(field.kind, value, path)


def _edge_field(fields: tuple[ScalarField, ...], name: str) -> ScalarField:
    return next(f for f in fields if f.name == name)


def _problems(violation: SchemaViolation, path: str) -> list[UserProblem]:
    return [
        UserProblem(f"{path}.{v.field}", f"{v.field} {v.message}", v.rule.upper())
        for v in violation.violations
    ]


def _conflict(label: str, current: int | None, change: Change) -> UserProblem:
    now = f"it is at version {current}" if current is not None else "it changed meanwhile"
    message = f"the {label} is no longer at version {change.expected_version}: {now}"
    return UserProblem(f"{change.path}.expectedVersion", message, "VERSION_CONFLICT")
