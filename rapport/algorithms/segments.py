"""Communities written back as dynamic Segments, whose ids survive reruns.

Each rerun of a community detection finds communities afresh, numbered
anew. :func:`write_segments` keeps a Segment (its id, name, and its members'
``since``) for every community that persists: the previous segments of the
same ``rule`` are matched to the new communities by Jaccard overlap of their
members, greedily from the best pair down (:func:`match_segments`). A
community without a match of at least ``min_jaccard`` gets a new Segment; a
segment without a community is deleted. Everything changes in one write
transaction, so readers see the old segments or the new ones; the same
transaction records the change events of it all, as a mutation's would
(segments created, updated and deleted, members linked and unlinked), so
subscribers and the search indexer hear of segments the algorithm made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rapport.algorithms.nodes import NodeValues
from rapport.auth.actor import Actor, Role
from rapport.events.outbox import ChangeEvent, ChangeType, link_event, record_changes, with_outbox
from rapport.graph.records import NodeRef, Records
from rapport.graph.types import GraphStore, Statement
from rapport.graph.values import now_millis
from rapport.schema.model import RELATIONSHIP_TYPES
from rapport.schema.validation import Schema

__all__ = ["Member", "SegmentChanges", "match_segments", "write_segments"]

Member = tuple[str, str]
"""A segment member: ``(label, record id)``."""

_NAMED_ACCOUNTS = 2  # accounts named in a new segment's name
_ACTOR = Actor(subject="algorithm:segments", role=Role.ADMIN)  # what the events name as their actor


@dataclass(frozen=True, slots=True)
class SegmentChanges:
    """What :func:`write_segments` did: segment ids by fate, and membership changes."""

    created: tuple[str, ...]
    kept: tuple[str, ...]
    retired: tuple[str, ...]
    joined: int
    left: int


def match_segments(
    previous: Mapping[str, frozenset[Member]],
    communities: Sequence[frozenset[Member]],
    *,
    min_jaccard: float = 0.5,
) -> dict[int, str]:
    """Which previous segment each community continues: ``community index -> segment id``.

    Pairs are taken by decreasing Jaccard similarity (ties: segment id, then
    community index), each segment and community at most once, down to
    ``min_jaccard``.

    Examples
    --------
    >>> old = {"s1": frozenset({("Customer", "a"), ("Customer", "b")})}
    >>> match_segments(old, [frozenset({("Customer", "c")}), frozenset({("Customer", "a")})])
    {1: 's1'}
    """
    community_of = {member: i for i, community in enumerate(communities) for member in community}
    candidates = []
    for segment, members in previous.items():
        overlaps = Counter(community_of[m] for m in members if m in community_of)
        for community, shared in overlaps.items():
            jaccard = shared / (len(members) + len(communities[community]) - shared)
            if jaccard >= min_jaccard:
                candidates.append((-jaccard, segment, community))
    matched: dict[int, str] = {}
    taken: set[str] = set()
    for _, segment, community in sorted(candidates):
        if community not in matched and segment not in taken:
            matched[community] = segment
            taken.add(segment)
    return matched


def _communities(values: NodeValues, members: Sequence[str], min_size: int) -> list[frozenset[Member]]:
    """The communities of ``values`` restricted to ``members`` labels, of at least ``min_size``."""
    keep = np.isin(values.labels, list(members))
    labels, ids, numbers = values.labels[keep], values.ids[keep], values.values[keep]
    order = np.argsort(numbers, kind="stable")
    cuts = np.flatnonzero(np.diff(numbers[order])) + 1
    groups = [
        frozenset(zip(labels[part].tolist(), ids[part].tolist(), strict=True))
        for part in np.split(order, cuts)
        if len(part) >= min_size
    ]
    return sorted(groups, key=lambda group: (-len(group), min(group)))


async def _previous(
    store: GraphStore, rule: str, members: Sequence[str]
) -> tuple[dict[str, frozenset[Member]], dict[str, dict[str, Any]]]:
    """The members of each segment of ``rule``, and the fields a rerun may change of each."""
    rows = await store.read(
        "MATCH (s:Segment {rule: $rule}) "
        "RETURN s.id AS id, s.description AS description, s.updatedAt AS updatedAt, s.version AS version",
        {"rule": rule},
    )
    states = {row["id"]: {k: v for k, v in row.items() if k != "id"} for row in rows}
    found: dict[str, set[Member]] = {row["id"]: set() for row in rows}
    for label in members:
        rows = await store.read(
            f"MATCH (s:Segment {{rule: $rule}})<-[:IN_SEGMENT]-(m:{label}) "
            "RETURN s.id AS id, collect(m.id) AS ids",
            {"rule": rule},
        )
        for row in rows:
            found[row["id"]].update((label, member) for member in row["ids"])
    return {segment: frozenset(members) for segment, members in found.items()}, states


def _summary(community: frozenset[Member]) -> str:
    counts = Counter(label for label, _ in community)
    return ", ".join(f"{n} {label.lower()}{'s' if n != 1 else ''}" for label, n in sorted(counts.items()))


async def _names(store: GraphStore, communities: Sequence[frozenset[Member]], title: str) -> list[str]:
    """A readable name per community: its first accounts by name, or its size."""
    account_ids = [member for community in communities for label, member in community if label == "Account"]
    rows = await store.read(
        "MATCH (a:Account) WHERE a.id IN $ids RETURN a.id AS id, a.name AS name", {"ids": account_ids}
    )
    account_name = {row["id"]: row["name"] for row in rows}
    names = []
    for community in communities:
        accounts = sorted(
            account_name[m] for label, m in community if label == "Account" and m in account_name
        )
        if not accounts:
            names.append(f"{title}: {_summary(community)}")
            continue
        more = len(accounts) - _NAMED_ACCOUNTS
        named = ", ".join(accounts[:_NAMED_ACCOUNTS]) + (f" +{more} more" if more > 0 else "")
        names.append(f"{title}: {named}"[:200])
    return names


def _membership_statements(
    changes: Sequence[tuple[Member, str]], action: str, **params: Any
) -> list[Statement]:
    """One statement per member label running ``action`` on each ``(m, s)`` pair of ``changes``."""
    statements = []
    for label in sorted({label for (label, _), _ in changes}):
        pairs = [[member, segment] for (of, member), segment in changes if of == label]
        statements.append(
            Statement(
                "UNWIND $pairs AS pair WITH pair[0] AS member, pair[1] AS segment "
                f"MATCH (m:{label} {{id: member}}) MATCH (s:Segment {{id: segment}}) {action}",
                {"pairs": pairs, **params},
            )
        )
    return statements


def _updated(before: Mapping[str, Any], description: str, now: int, segment: str) -> ChangeEvent:
    """The event of a kept segment's update, from the fields it had when the rerun read it."""
    version = before["version"]
    after = {
        "description": description,
        "updatedAt": now,
        "version": None if version is None else version + 1,
    }
    return ChangeEvent(ChangeType.UPDATED, "Segment", (segment,), record_changes(before, after))


def _membership_event(
    type: ChangeType, member: Member, segment: str, props: Mapping[str, Any]
) -> ChangeEvent:
    label, member_id = member
    return link_event(type, "IN_SEGMENT", NodeRef(label, member_id), NodeRef("Segment", segment), props)


async def write_segments(
    store: GraphStore,
    communities: NodeValues,
    *,
    rule: str,
    members: Sequence[str] = ("Customer", "Account"),
    min_size: int = 3,
    min_jaccard: float = 0.5,
    title: str = "Community",
) -> SegmentChanges:
    """Make the Segments of ``rule`` hold ``communities``, keeping the ids of those that persist.

    Parameters
    ----------
    store
        Either backend.
    communities
        A community number per node (e.g. ``projection.node_values(louvain(...))``).
    rule
        The ``rule`` property naming this family of segments (how they are
        computed); only segments with this rule are matched, changed or deleted.
    members
        The labels that become members (``IN_SEGMENT`` joins Customers and Accounts).
    min_size
        Communities with fewer members (of ``members`` labels) get no segment.
    min_jaccard
        The least overlap for a community to continue a previous segment.
    title
        The first word of new segments' names ("Community: Acme, Globex +2 more").

    Returns
    -------
    SegmentChanges
        Segment ids created, kept and retired; memberships joined and left.
    """
    if min_size < 1 or not 0 < min_jaccard <= 1:
        raise ValueError("min_size must be at least 1 and min_jaccard in (0, 1]")
    allowed = RELATIONSHIP_TYPES["IN_SEGMENT"].sources
    if not members or not set(members) <= set(allowed):
        raise ValueError(f"segment members must be among {', '.join(allowed)}, not {list(members)}")
    groups = _communities(communities, members, min_size)
    previous, states = await _previous(store, rule, members)
    matched = match_segments(previous, groups, min_jaccard=min_jaccard)
    fresh = [i for i in range(len(groups)) if i not in matched]
    names = await _names(store, [groups[i] for i in fresh], title)
    now = now_millis()
    records = Records(store, Schema())
    created: list[dict[str, Any]] = []
    segment_of: dict[int, str] = dict(matched)
    for i, name in zip(fresh, names, strict=True):
        stored = records.new_node("Segment", {"name": name, "description": _summary(groups[i]), "rule": rule})
        created.append(stored)
        segment_of[i] = stored["id"]
    retired = sorted(set(previous) - set(matched.values()))
    joined = [
        (member, segment_of[i])
        for i, group in enumerate(groups)
        for member in group - previous.get(segment_of[i], frozenset())
    ]
    left = [(member, segment) for i, segment in matched.items() for member in previous[segment] - groups[i]]
    changed = {segment for _, segment in joined + left}
    kept = [
        {"id": segment, "description": _summary(groups[i])}
        for i, segment in matched.items()
        if segment in changed
    ]
    statements = [
        Statement("UNWIND $segments AS props CREATE (s:Segment) SET s = props", {"segments": created}),
        Statement(
            "UNWIND $segments AS change MATCH (s:Segment {id: change.id}) "
            "SET s.description = change.description, s.updatedAt = $now, s.version = s.version + 1",
            {"segments": kept, "now": now},
        ),
        Statement("MATCH (s:Segment) WHERE s.id IN $ids DETACH DELETE s", {"ids": retired}),
        *_membership_statements(left, "MATCH (m)-[r:IN_SEGMENT]->(s) DELETE r"),
        *_membership_statements(joined, "CREATE (m)-[:IN_SEGMENT {since: $now}]->(s)", now=now),
    ]
    events = [
        *(
            ChangeEvent(ChangeType.CREATED, "Segment", (node["id"],), record_changes(None, node))
            for node in created
        ),
        *(_updated(states[change["id"]], change["description"], now, change["id"]) for change in kept),
        *(ChangeEvent(ChangeType.DELETED, "Segment", (segment,)) for segment in retired),
        *(_membership_event(ChangeType.UNLINKED, member, segment, {}) for member, segment in left),
        *(
            _membership_event(ChangeType.LINKED, member, segment, {"since": now})
            for member, segment in joined
        ),
    ]
    await store.write_transaction(with_outbox(statements, events, _ACTOR))
    return SegmentChanges(
        created=tuple(segment_of[i] for i in fresh),
        kept=tuple(matched[i] for i in sorted(matched)),
        retired=tuple(retired),
        joined=len(joined),
        left=len(left),
    )
