"""Run an import: plan every file, resolve references, then upsert in batches.

Validation covers every row of every file before anything is written. Nodes
are upserted by ``externalId`` (the mapping's key column): a new key creates a
node, a changed row updates it (``updatedAt`` and ``version`` move), an
unchanged row touches nothing, so importing the same files twice changes
nothing. Relationships are merged between their two ends. Each batch records
the change events of what it creates and changes in its own transaction
(:mod:`rapport.importer.changes`).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapport.events.outbox import ChangeEvent, with_outbox
from rapport.graph.dialect import checked_identifier
from rapport.graph.records import new_id
from rapport.graph.types import GraphStore, Record, Statement
from rapport.graph.values import now_millis
from rapport.importer.changes import (
    IMPORTER,
    changed_keys,
    link_changes,
    link_changes_query,
    node_changes,
)
from rapport.importer.mapping import Mapping
from rapport.importer.plan import EntityPlan, Issue, Row, plan_entity
from rapport.schema.validation import Schema

BATCH = 5_000


class ImportRejected(Exception):
    """Some rows are invalid, so nothing was written; ``issues`` lists them all."""

    def __init__(self, issues: list[Issue]) -> None:
        rows = len({(i.file, i.line) for i in issues})
        super().__init__(f"{rows} invalid row(s); nothing imported (--skip-invalid imports the valid ones)")
        self.issues = issues


@dataclass(slots=True)
class LabelCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    counts: dict[str, LabelCounts] = field(default_factory=lambda: defaultdict(LabelCounts))
    links: int = 0
    unlinked: int = 0
    rejected: list[Row] = field(default_factory=list)

    @property
    def issues(self) -> list[Issue]:
        return [issue for row in self.rejected for issue in row.issues]


def plan_import(mapping: Mapping, schema: Schema) -> list[EntityPlan]:
    """Plan every entity of the mapping, in order."""
    return [plan_entity(entity, mapping.defaults, schema) for entity in mapping.entities]


async def _existing(store: GraphStore, label: str, match: str, values: set[str]) -> dict[str, int]:
    """How many ``label`` nodes already have each value of ``match``."""
    found: dict[str, int] = {}
    ordered = sorted(values)
    node, key = checked_identifier(label), checked_identifier(match)
    for start in range(0, len(ordered), BATCH):
        rows = await store.read(
            f"UNWIND $values AS v MATCH (n:{node}) WHERE n.{key} = v RETURN v AS value, count(n) AS n",
            {"values": ordered[start : start + BATCH]},
        )
        found.update({r["value"]: r["n"] for r in rows})
    return found


async def resolve_references(plans: list[EntityPlan], store: GraphStore, *, allow_unlinked: bool) -> int:
    """Check every link's target exists (in this import or in the graph).

    A row whose target is unknown becomes invalid, unless ``allow_unlinked``
    drops just the link. Rows made invalid can orphan other rows' links, so
    this repeats until nothing changes. Returns how many links were dropped.
    """
    in_graph: dict[tuple[str, str], dict[str, int]] = {}
    dropped = 0
    while True:
        available: dict[tuple[str, str], set[str]] = defaultdict(set)
        for plan in plans:
            for row in plan.valid:
                available[plan.entity.label, "externalId"].add(row.key)
                if isinstance(row.properties.get("name"), str):
                    available[plan.entity.label, "name"].add(row.properties["name"])
        wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
        for plan in plans:
            for row in plan.valid:
                for link in row.links:
                    target = (link.link.to, link.link.match)
                    if link.target not in available[target]:
                        wanted[target].add(link.target)
        for (label, match), values in wanted.items():
            missing = values - set(in_graph.get((label, match), {}))
            if missing:
                in_graph.setdefault((label, match), {}).update(await _existing(store, label, match, missing))
        changed = False
        for plan in plans:
            for row in plan.valid:
                kept = []
                for link in row.links:
                    target = (link.link.to, link.link.match)
                    known = link.target in available[target]
                    count = in_graph.get(target, {}).get(link.target, 0)
                    if known or count == 1:
                        kept.append(link)
                        continue
                    if allow_unlinked and count == 0:
                        dropped += 1
                        continue
                    rule, message = (
                        (
                            "ambiguous_reference",
                            f"{count} {link.link.to} nodes have {link.link.match} {link.target!r}",
                        )
                        if count > 1
                        else (
                            "unknown_reference",
                            f"no {link.link.to} with {link.link.match} {link.target!r}",
                        )
                    )
                    row.issues.append(Issue(plan.entity.file.name, row.line, link.link.column, rule, message))
                    changed = True
                row.links = kept
        if not changed:
            return dropped


def _chunks(rows: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


async def _write_with_events(store: GraphStore, write: Statement, events: list[ChangeEvent]) -> list[Record]:
    """Run ``write`` in one transaction with the outbox records of ``events``; its rows."""
    results = await store.write_transaction(with_outbox([write], events, IMPORTER))
    return results[0]


async def _upsert_nodes(store: GraphStore, plan: EntityPlan, report: ImportReport) -> None:
    label = checked_identifier(plan.entity.label)
    # An empty cell sets null, which removes the property: the node mirrors the row.
    query = (
        f"UNWIND $rows AS row MERGE (n:{label} {{externalId: row.key}}) "
        "ON CREATE SET n.id = row.id, n.createdAt = $now, n.updatedAt = $now, n.version = 0 "
        f"WITH n, row WHERE n.version = 0 OR size({changed_keys('n', 'row.props')}) > 0 "
        "SET n += row.props, n.updatedAt = $now, n.version = n.version + 1 "
        "RETURN sum(CASE WHEN n.version = 1 THEN 1 ELSE 0 END) AS created, count(n) AS changed"
    )
    counts = report.counts[plan.entity.label]
    for chunk in _chunks(plan.valid):
        rows = [
            {"key": r.key, "id": new_id(), "props": {f: r.properties.get(f) for f in plan.written}}
            for r in chunk
        ]
        now = now_millis()
        events = await node_changes(store, label, rows, now)
        (result,) = await _write_with_events(store, Statement(query, {"rows": rows, "now": now}), events)
        created, changed = int(result["created"] or 0), int(result["changed"] or 0)
        counts.created += created
        counts.updated += changed - created
        counts.unchanged += len(chunk) - changed


async def _merge_links(store: GraphStore, plan: EntityPlan, report: ImportReport) -> None:
    for link in plan.entity.links:
        items = [
            {"row": row.key, "other": link_row.target, "props": link_row.properties}
            for row in plan.valid
            for link_row in row.links
            if link_row.link is link
        ]
        own = f"(x:{checked_identifier(plan.entity.label)} {{externalId: item.row}})"
        other = f"(y:{checked_identifier(link.to)} {{{checked_identifier(link.match)}: item.other}})"
        rel = f"[r:{checked_identifier(link.type)}]"
        outward = link.direction == "out"
        pattern = f"(x)-{rel}->(y)" if outward else f"(y)-{rel}->(x)"
        matched = f"UNWIND $items AS item MATCH {own} MATCH {other} "
        to_change = link_changes_query(matched, pattern, *(("x", "y") if outward else ("y", "x")))
        write = f"{matched} MERGE {pattern} SET r += item.props RETURN count(r) AS n"
        labels = (plan.entity.label, link.to) if outward else (link.to, plan.entity.label)
        for chunk in _chunks(items):
            events = await link_changes(store, to_change, chunk, labels, link.type)
            (result,) = await _write_with_events(store, Statement(write, {"items": chunk}), events)
            report.links += int(result["n"])


async def run_import(
    store: GraphStore,
    mapping: Mapping,
    schema: Schema,
    *,
    skip_invalid: bool = False,
    allow_unlinked: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate everything, then write; raise :class:`ImportRejected` (writing nothing)
    when a row is invalid and ``skip_invalid`` is off."""
    plans = plan_import(mapping, schema)
    report = ImportReport()
    report.unlinked = await resolve_references(plans, store, allow_unlinked=allow_unlinked)
    for plan in plans:
        report.rejected += [row for row in plan.rows if row.issues]
    if report.rejected and not skip_invalid:
        raise ImportRejected(report.issues)
    for plan in plans:
        await _upsert_nodes(store, plan, report)
        if on_progress:
            on_progress(len(plan.rows))
    for plan in plans:
        await _merge_links(store, plan, report)
    return report


def write_rejects(path: Path, report: ImportReport) -> None:
    """One line per broken rule, with the original record as JSON, for fixing and re-importing."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "line", "column", "rule", "message", "record"])
        for row in report.rejected:
            for issue in row.issues:
                writer.writerow([issue.file, issue.line, issue.column, issue.rule, issue.message,
                                 json.dumps(row.raw, ensure_ascii=False)])  # fmt: skip
