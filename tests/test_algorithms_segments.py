"""Segments from communities: a community that persists keeps its Segment (id, name, members'
`since`); new ones get a Segment, vanished ones lose theirs; other segments are not touched."""

from __future__ import annotations

import numpy as np

from rapport.algorithms.nodes import NodeValues
from rapport.algorithms.segments import match_segments, write_segments
from rapport.graph.types import GraphStore, Statement
from tests.live_api import committed_seq
from tests.outbox_state import recorded_events

RULE = "test communities"


def customers(*ids: str) -> frozenset[tuple[str, str]]:
    return frozenset(("Customer", i) for i in ids)


def test_each_community_continues_the_previous_segment_it_overlaps_most() -> None:
    previous = {"s1": customers("a", "b", "c"), "s2": customers("d", "e", "f")}
    communities = [customers("d", "e", "f", "g"), customers("a", "b"), customers("x", "y")]
    assert match_segments(previous, communities) == {0: "s2", 1: "s1"}


def test_a_segment_continues_at_most_one_community_and_only_above_the_threshold() -> None:
    previous = {"s1": customers("a", "b", "c", "d")}
    split = [customers("a", "b"), customers("c", "d")]  # each half: Jaccard 0.5
    assert match_segments(previous, split) == {0: "s1"}  # ties go to the first community
    assert match_segments(previous, split, min_jaccard=0.6) == {}


def communities(assignment: dict[str, int]) -> NodeValues:
    labels = ["Account" if member.startswith("a") else "Customer" for member in assignment]
    return NodeValues(np.array(labels), np.array(list(assignment)), np.array(list(assignment.values())))


async def people(store: GraphStore) -> None:
    await store.write_transaction([
        Statement("UNWIND range(1, 9) AS i CREATE (:Customer {id: 'c' + toString(i)})"),
        Statement("CREATE (:Account {id: 'a1', name: 'Acme Labs'})"),
        Statement("CREATE (s:Segment {id: 'manual', name: 'VIP', rule: 'hand-picked'}) "
                  "WITH s MATCH (c:Customer {id: 'c1'}) CREATE (c)-[:IN_SEGMENT]->(s)"),
    ])  # fmt: skip


async def memberships(store: GraphStore) -> dict[str, dict[str, int]]:
    rows = await store.read(
        "MATCH (s:Segment {rule: $rule})<-[r:IN_SEGMENT]-(m) "
        "RETURN s.id AS segment, m.id AS member, r.since AS since",
        {"rule": RULE},
    )
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        found.setdefault(row["segment"], {})[row["member"]] = row["since"]
    return found


async def test_communities_are_written_as_segments_with_members(store: GraphStore) -> None:
    await people(store)
    changes = await write_segments(
        store, communities({"c1": 0, "c2": 0, "c3": 0, "a1": 0, "c4": 1, "c5": 1, "c6": 1, "c7": 2, "c8": 2}),
        rule=RULE,
    )  # fmt: skip
    assert len(changes.created) == 2 and changes.joined == 7  # c7 and c8 are too few for a segment
    found = await memberships(store)
    big, small = changes.created
    assert set(found[big]) == {"c1", "c2", "c3", "a1"} and set(found[small]) == {"c4", "c5", "c6"}
    rows = await store.read(
        "MATCH (s:Segment {rule: $rule}) RETURN s.id AS id, s.name AS name, s.description AS description, "
        "s.version AS version, s.createdAt > 0 AS stamped",
        {"rule": RULE},
    )
    named = {row["id"]: row for row in rows}
    assert named[big]["name"] == "Community: Acme Labs"
    assert named[big]["description"] == "1 account, 3 customers"
    assert named[small]["name"] == "Community: 3 customers"
    assert named[small]["version"] == 1 and named[small]["stamped"]


async def test_persisting_communities_keep_their_segment_and_members_their_since(store: GraphStore) -> None:
    await people(store)
    first = await write_segments(
        store, communities({"c1": 0, "c2": 0, "c3": 0, "a1": 0, "c4": 1, "c5": 1, "c6": 1}), rule=RULE
    )
    before = await memberships(store)
    # c3 moves over; numbers change meaning between runs, as they do between Louvain runs.
    second = await write_segments(
        store, communities({"c1": 5, "c2": 5, "a1": 5, "c3": 4, "c4": 4, "c5": 4, "c6": 4}), rule=RULE
    )
    assert second.created == () and second.retired == ()
    assert sorted(second.kept) == sorted(first.created)
    assert (second.joined, second.left) == (1, 1)
    after = await memberships(store)
    big, small = first.created
    assert set(after[big]) == {"c1", "c2", "a1"} and set(after[small]) == {"c3", "c4", "c5", "c6"}
    assert after[big]["c1"] == before[big]["c1"] and after[small]["c4"] == before[small]["c4"]
    versions = await store.read(
        "MATCH (s:Segment {rule: $rule}) RETURN collect(s.version) AS v", {"rule": RULE}
    )
    assert versions[0]["v"] == [2, 2]


async def test_vanished_communities_lose_their_segment_and_other_segments_stay(store: GraphStore) -> None:
    await people(store)
    first = await write_segments(store, communities({"c1": 0, "c2": 0, "c3": 0}), rule=RULE)
    second = await write_segments(store, communities({"c7": 0, "c8": 0, "c9": 0}), rule=RULE)
    assert second.retired == first.created and len(second.created) == 1
    assert list(await memberships(store)) == list(second.created)
    manual = await store.read("MATCH (:Customer {id: 'c1'})-[:IN_SEGMENT]->(s:Segment) RETURN s.id AS id")
    assert manual == [{"id": "manual"}]


async def test_a_rerun_records_the_events_of_what_it_changed_as_a_mutation_would(store: GraphStore) -> None:
    await people(store)
    first = await write_segments(
        store, communities({"c1": 0, "c2": 0, "c3": 0, "c4": 1, "c5": 1, "c6": 1, "c7": 1}), rule=RULE
    )
    start = await committed_seq(store)
    # The second segment goes on with c3 and c8 in, c7 out; c7 joins a new one; c1 and c2 are left
    # too few, so the first segment goes.
    second = await write_segments(
        store,
        communities({"c3": 4, "c4": 4, "c5": 4, "c6": 4, "c8": 4, "c7": 5, "c9": 5, "a1": 5}),
        rule=RULE,
    )
    (kept,), (fresh,) = second.kept, second.created
    (retired,) = set(first.created) - {kept}
    events = await recorded_events(store, start)
    assert [e["type"] for e in events] == ["created", "updated", "deleted", "unlinked"] + ["linked"] * 5
    created, updated, deleted, unlinked, *linked = events
    assert (created["label"], created["ids"]) == ("Segment", [fresh])
    assert created["fields"]["name"] == [None, "Community: Acme Labs"]
    assert created["fields"]["version"] == [None, 1]
    assert (updated["label"], updated["ids"]) == ("Segment", [kept])
    assert updated["fields"]["description"] == ["4 customers", "5 customers"]
    assert updated["fields"]["version"] == [1, 2]
    assert (deleted["label"], deleted["ids"], deleted["fields"]) == ("Segment", [retired], {})
    assert (unlinked["label"], unlinked["ids"], unlinked["labels"]) == (
        "IN_SEGMENT", ["c7", kept], ["Customer", "Segment"]
    )  # fmt: skip
    assert sorted((e["labels"][0], *e["ids"]) for e in linked) == sorted([
        ("Customer", "c3", kept), ("Customer", "c8", kept),
        ("Customer", "c7", fresh), ("Customer", "c9", fresh), ("Account", "a1", fresh),
    ])  # fmt: skip
    assert all(e["label"] == "IN_SEGMENT" and list(e["fields"]) == ["since"] for e in linked)
    assert {e["actor"] for e in events} == {"algorithm:segments"}


async def test_a_rerun_that_changes_nothing_records_nothing(store: GraphStore) -> None:
    await people(store)
    assignment = {"c1": 0, "c2": 0, "c3": 0, "c4": 1, "c5": 1, "c6": 1}
    await write_segments(store, communities(assignment), rule=RULE)
    start = await committed_seq(store)
    await write_segments(store, communities(assignment), rule=RULE)
    assert await recorded_events(store, start) == []
