"""Validated record writes: ids, timestamps and versions maintained in one place.

Every node written through :class:`Records` has a UUIDv7 ``id`` unique per
label, ``createdAt``/``updatedAt`` in epoch milliseconds and a ``version``
that grows with each change, so an update can refuse to overwrite a change
it has not seen. Label and relationship type names reach Cypher text only
after the schema has accepted them; values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import uuid_utils

from rapport.graph.errors import NothingMatched, StoreError
from rapport.graph.types import GraphStore, Record, Statement
from rapport.graph.values import now_millis
from rapport.schema.validation import Schema

_MAX_UPDATE_ATTEMPTS = 5


class RecordNotFound(StoreError):
    """No node of that label has that id."""


class VersionConflict(StoreError):
    """The record changed since the version the caller read."""


@dataclass(frozen=True, slots=True)
class NodeRef:
    """A node addressed by label and public id."""

    label: str
    id: str


def new_id() -> str:
    """A new public id: a UUIDv7, time-ordered so indexes stay compact."""
    return str(uuid_utils.uuid7())


class Records:
    """Create, read, update and delete nodes and relationships of the CRM model."""

    def __init__(self, store: GraphStore, schema: Schema) -> None:
        self._store = store
        self.schema = schema

    # -- nodes ------------------------------------------------------------
    def new_node(self, label: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a new node; return the properties it will have (with its id, timestamps
        and version)."""
        clean = self.schema.validate_node(label, properties)
        now = now_millis()
        return {**clean, "id": new_id(), "createdAt": now, "updatedAt": now, "version": 1}

    def create_statement(self, label: str, nodes: Sequence[Mapping[str, Any]]) -> Statement:
        """One statement creating ``label`` nodes made by :meth:`new_node`; it returns their ids.

        One statement for any number of nodes: a transaction creating many is
        cheaper to plan and run than one statement per node, and has the same
        shape whatever the number (so a plan cached once serves them all).
        """
        self.schema.label(label)
        return Statement(
            f"UNWIND $nodes AS props CREATE (n:{label}) SET n = props RETURN n.id AS id",
            {"nodes": list(nodes)},
        )

    def plan_create(self, label: str, properties: Mapping[str, Any]) -> tuple[Statement, dict[str, Any]]:
        """Validate a new node; return its statement and the properties it will have."""
        stored = self.new_node(label, properties)
        return self.create_statement(label, [stored]), stored

    async def create(self, label: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Create one node; raise :class:`SchemaViolation` (nothing written) on bad input."""
        statement, stored = self.plan_create(label, properties)
        await self._store.write_transaction([statement])
        return stored

    async def get(self, label: str, id: str) -> dict[str, Any] | None:
        """The properties of the ``label`` node with public ``id``, or ``None``."""
        self.schema.label(label)
        rows = await self._store.read(
            f"MATCH (n:{label} {{id: $id}}) RETURN properties(n) AS props", {"id": id}
        )
        return rows[0]["props"] if rows else None

    async def update(
        self,
        label: str,
        id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Change some fields (``None`` removes one); return the node's new properties.

        The merged record is validated as a whole, then written only if the
        version is still the one read: with ``expected_version`` a concurrent
        change raises :class:`VersionConflict`; without it, the update re-reads
        and tries again.
        """
        for _ in range(_MAX_UPDATE_ATTEMPTS):
            current = await self.get(label, id)
            if current is None:
                raise RecordNotFound(f"{label} {id} not found")
            if expected_version is not None and current["version"] != expected_version:
                raise VersionConflict(
                    f"{label} {id} is at version {current['version']}, not {expected_version}"
                )
            statement, _ = self.plan_update(label, current, changes)
            rows = await self._store.write(statement.cypher, statement.params)
            if rows:
                updated: dict[str, Any] = rows[0]["props"]
                return updated
            if expected_version is not None:
                raise VersionConflict(f"{label} {id} changed while it was being updated")
        raise VersionConflict(f"{label} {id} kept changing; gave up after {_MAX_UPDATE_ATTEMPTS} tries")

    def plan_update(
        self, label: str, current: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> tuple[Statement, dict[str, Any]]:
        """Validate ``changes`` merged into the ``current`` properties; return the statement, which
        writes them only while the node is still at the version read (it returns no row otherwise),
        and the properties the node will have."""
        fields = self.schema.node_fields(label)
        # Properties outside the model (scores, embeddings) are not ours to validate or drop.
        known = {k: v for k, v in current.items() if k in fields}
        merged = self.schema.validate_node(label, {**known, **changes})
        patch = {
            **merged,
            **{k: None for k in known if k not in merged},  # null removes the property
            "updatedAt": now_millis(),
            "version": current["version"] + 1,
        }
        statement = Statement(
            f"MATCH (n:{label} {{id: $id}}) WHERE n.version = $version "
            "SET n += $patch RETURN properties(n) AS props",
            {"id": current["id"], "version": current["version"], "patch": patch},
            required_match=f"{label} {current['id']} changed since version {current['version']}",
        )
        after = {k: v for k, v in {**current, **patch}.items() if v is not None}
        return statement, after

    async def delete(self, label: str, id: str) -> bool:
        """Delete a node and its relationships; return whether it existed."""
        self.schema.label(label)
        rows = await self._store.write(
            f"MATCH (n:{label} {{id: $id}}) DETACH DELETE n RETURN count(*) AS deleted", {"id": id}
        )
        return bool(rows and rows[0]["deleted"])

    # -- relationships ----------------------------------------------------
    def plan_relate(
        self, type_name: str, source: NodeRef, target: NodeRef, properties: Mapping[str, Any]
    ) -> Statement:
        """Validate a new relationship; the statement fails the transaction if an end is missing."""
        self.schema.label(source.label)
        self.schema.label(target.label)
        clean = self.schema.validate_relationship(type_name, source.label, target.label, properties)
        return Statement(
            f"MATCH (a:{source.label} {{id: $source}}) MATCH (b:{target.label} {{id: $target}}) "
            f"CREATE (a)-[r:{type_name}]->(b) SET r = $props RETURN properties(r) AS props",
            {"source": source.id, "target": target.id, "props": clean},
            required_match=f"{source.label} {source.id} or {target.label} {target.id} not found",
        )

    async def relate(
        self,
        type_name: str,
        source: NodeRef,
        target: NodeRef,
        properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create one relationship; raise :class:`RecordNotFound` if an end is missing."""
        (rows,) = await self.apply([self.plan_relate(type_name, source, target, properties or {})])
        props: dict[str, Any] = rows[0]["props"]
        return props

    async def unrelate(self, type_name: str, source: NodeRef, target: NodeRef) -> int:
        """Delete every ``type_name`` relationship from ``source`` to ``target``; return how many."""
        statement = self.plan_unrelate(type_name, source, target)
        rows = await self._store.write(statement.cypher, statement.params)
        return int(rows[0]["deleted"]) if rows else 0

    def plan_unrelate(self, type_name: str, source: NodeRef, target: NodeRef) -> Statement:
        """The statement deleting every ``type_name`` relationship from ``source`` to ``target``."""
        self.schema.relationship(type_name)
        self.schema.label(source.label)
        self.schema.label(target.label)
        return Statement(
            f"MATCH (:{source.label} {{id: $source}})-[r:{type_name}]->(:{target.label} {{id: $target}}) "
            "DELETE r RETURN count(*) AS deleted",
            {"source": source.id, "target": target.id},
        )

    async def apply(self, statements: Sequence[Statement]) -> list[list[Record]]:
        """Run planned statements as one transaction: all take effect or none."""
        try:
            return await self._store.write_transaction(statements)
        except NothingMatched as error:
            raise RecordNotFound(str(error)) from error
