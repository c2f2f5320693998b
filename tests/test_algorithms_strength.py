"""Relationship strength: 0-100 per pair of people, from recency, frequency, reciprocity and channel,
stored on CONNECTED_TO and replaced on every recomputation (on a schedule in the server)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from rapport.algorithms.schedule import recurring, run_if_due
from rapport.algorithms.strength import DAY_MS, Interactions, compute_strength, score
from rapport.app import create_app
from rapport.graph.types import GraphStore
from rapport.graph.values import epoch_millis, now_millis
from rapport.migrations.runner import MigrationRunner
from tests.api_client import ApiClient
from tests.conftest import settings_for
from tests.http_server import serving
from tests.outbox_state import recorded_events
from tests.test_cli import run, store_env

__all__ = ["store_env"]  # a fixture, used by name

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
AS_OF_MS = epoch_millis(AS_OF)
_ids = itertools.count()

Connections = dict[tuple[str, str], dict[str, Any]]


@pytest.fixture
async def graph(store: GraphStore) -> GraphStore:
    """The emptied, migrated store of each backend."""
    await MigrationRunner(store).migrate()
    return store


async def people(store: GraphStore, *ids: str) -> None:
    """Staff users (ids starting with "u") and customers."""
    await store.write(
        "UNWIND $users AS id CREATE (:User {id: id, name: id, email: id + '@staff.example', role: 'sales'})",
        {"users": [i for i in ids if i.startswith("u")]},
    )
    await store.write(
        "UNWIND $customers AS id CREATE (:Customer {id: id, firstName: id, lastName: 'Test'})",
        {"customers": [i for i in ids if not i.startswith("u")]},
    )


async def activities(
    store: GraphStore,
    user: str,
    customers: Sequence[str],
    kind: str,
    days_ago: Sequence[float],
    direction: str | None = None,
    *,
    at: int = AS_OF_MS,
) -> None:
    """Activities of ``kind`` that ``user`` performed with ``customers``, ``days_ago`` before ``at``."""
    rows = [{"id": f"activity-{next(_ids)}", "at": at - int(d * DAY_MS)} for d in days_ago]
    await store.write(
        """
        UNWIND $rows AS row
        MATCH (u:User {id: $user})
        CREATE (u)-[:PERFORMED]->(a:Activity {id: row.id, kind: $kind, occurredAt: row.at})
        SET a.direction = $direction
        WITH a
        MATCH (c:Customer) WHERE c.id IN $customers
        CREATE (a)-[:WITH]->(c)
        """,
        {"rows": rows, "user": user, "customers": list(customers), "kind": kind, "direction": direction},
    )


async def connections(store: GraphStore) -> Connections:
    rows = await store.read(
        "MATCH (a)-[r:CONNECTED_TO]->(b) RETURN a.id AS source, b.id AS target, properties(r) AS p"
    )
    found = {(row["source"], row["target"]): row["p"] for row in rows}
    assert len(found) == len(rows), "one CONNECTED_TO per pair and direction"
    return found


def components(connection: dict[str, Any]) -> dict[str, float]:
    return {k: connection[k] for k in ("recency", "frequency", "channel", "reciprocity")}


def assert_only_moved(stronger: dict[str, Any], weaker: dict[str, Any], *moved: str) -> None:
    """``stronger`` scores higher, through the components ``moved`` only."""
    assert stronger["strength"] > weaker["strength"]
    for name, value in components(stronger).items():
        if name in moved:
            assert value > weaker[name], name
        else:
            assert value == weaker[name], name


# -- the formula ---------------------------------------------------------------------------------
def test_the_formula_as_documented() -> None:
    one_meeting_today = Interactions()
    one_meeting_today.add("meeting", 1.0, 1, AS_OF_MS, "both")
    # 100 * R * (0.45 F + 0.35 C + 0.20 P) with R = 1, F = 1 - e^(-1/8), C = 1 / (1 + 3), P = 1
    strength = score(one_meeting_today, AS_OF_MS)
    assert (strength.recency, strength.frequency, strength.channel, strength.reciprocity) == (
        1.0, 0.1175, 0.25, 1.0,
    )  # fmt: skip
    assert strength.strength == 34
    # Recency halves every 90 days.
    assert score(one_meeting_today, AS_OF_MS + 90 * DAY_MS).recency == 0.5
    assert score(one_meeting_today, AS_OF_MS + 90 * DAY_MS).strength == 17
    assert strength.reasons == (
        "last interaction today", "1 meeting in the last 365 days", "contact goes both ways",
    )  # fmt: skip


# -- each component moves the score the right way --------------------------------------------------
async def test_recent_contact_is_stronger_than_the_same_contact_long_ago(graph: GraphStore) -> None:
    await people(graph, "u1", "recent", "old")
    for customer, shift in (("recent", 0), ("old", 150)):
        await activities(graph, "u1", [customer], "call", [5 + shift, 40 + shift], "outbound")
        await activities(graph, "u1", [customer], "call", [20 + shift], "inbound")
    await compute_strength(graph, as_of=AS_OF)
    found = await connections(graph)
    assert_only_moved(found[("u1", "recent")], found[("u1", "old")], "recency")


async def test_frequent_contact_is_stronger_than_occasional_contact(graph: GraphStore) -> None:
    await people(graph, "u1", "often", "seldom")
    await activities(graph, "u1", ["often"], "email", [10, 30, 50, 70, 90], "outbound")
    await activities(graph, "u1", ["often"], "email", [20, 40, 60, 80, 100], "inbound")
    await activities(graph, "u1", ["seldom"], "email", [10], "outbound")
    await activities(graph, "u1", ["seldom"], "email", [20], "inbound")
    await compute_strength(graph, as_of=AS_OF)
    found = await connections(graph)
    # More interactions also mean more channel weight; recency and reciprocity are the same.
    assert_only_moved(found[("u1", "often")], found[("u1", "seldom")], "frequency", "channel")
    assert found[("u1", "often")]["interactions"] == 10


async def test_contact_both_ways_is_stronger_than_one_way_contact(graph: GraphStore) -> None:
    await people(graph, "u1", "mutual", "ignored")
    await activities(graph, "u1", ["mutual"], "email", [10, 30], "outbound")
    await activities(graph, "u1", ["mutual"], "email", [20, 40], "inbound")
    await activities(graph, "u1", ["ignored"], "email", [10, 20, 30, 40], "outbound")
    await compute_strength(graph, as_of=AS_OF)
    found = await connections(graph)
    assert_only_moved(found[("u1", "mutual")], found[("u1", "ignored")], "reciprocity")
    assert (found[("u1", "mutual")]["reciprocity"], found[("u1", "ignored")]["reciprocity"]) == (1.0, 0.0)
    assert found[("u1", "ignored")]["reasons"][-1] == "contact goes one way only"


async def test_a_meeting_weighs_more_than_an_email(graph: GraphStore) -> None:
    await people(graph, "u1", "met", "emailed")
    await activities(graph, "u1", ["met"], "meeting", [10, 40, 70])
    await activities(graph, "u1", ["emailed"], "email", [10, 40, 70])
    await compute_strength(graph, as_of=AS_OF)
    found = await connections(graph)
    assert_only_moved(found[("u1", "met")], found[("u1", "emailed")], "channel")
    assert found[("u1", "met")]["reasons"] == [
        "last interaction 10 days ago", "3 meetings in the last 365 days", "contact goes both ways",
    ]  # fmt: skip


# -- customer pairs, the window, storage -------------------------------------------------------
async def test_customers_are_connected_by_knows_referrals_shared_activities_and_deals(
    graph: GraphStore,
) -> None:
    await people(graph, "u1", "c1", "c2", "c3", "c4", "c5")
    await graph.write(
        """
        MATCH (c1:Customer {id: 'c1'}), (c2:Customer {id: 'c2'}), (c3:Customer {id: 'c3'}),
              (c4:Customer {id: 'c4'})
        CREATE (c1)-[:KNOWS {strength: 0.9}]->(c2), (c2)-[:KNOWS]->(c1),
               (c1)-[:REFERRED {at: $referred}]->(c3),
               (d:Deal {id: 'd1', name: 'Renewal', stage: 'proposal', createdAt: $dealCreated}),
               (d)-[:INVOLVES {role: 'champion'}]->(c1), (d)-[:INVOLVES {role: 'influencer'}]->(c4)
        """,
        {"referred": AS_OF_MS - 30 * DAY_MS, "dealCreated": AS_OF_MS - 60 * DAY_MS},
    )
    await activities(graph, "u1", ["c2", "c3"], "meeting", [3])
    report = await compute_strength(graph, as_of=AS_OF)
    found = await connections(graph)

    peers = {pair for pair in found if not pair[0].startswith("u")}
    expected = {("c1", "c2"), ("c1", "c3"), ("c2", "c3"), ("c1", "c4")}
    assert peers == expected | {(b, a) for a, b in expected}, "stored both ways; c5 interacts with no one"
    assert all(found[(a, b)] == found[(b, a)] for a, b in expected)
    assert set(found) - peers == {("u1", "c2"), ("u1", "c3")}
    assert (report.customers, report.staff_pairs, report.customer_pairs) == (5, 2, 4)

    knows, referral = found[("c1", "c2")], found[("c1", "c3")]
    assert knows["reciprocity"] == 1.0 and knows["recency"] == 1.0  # a standing tie, both ways
    assert referral["reciprocity"] == 0.0  # c1 referred c3, not the other way round
    assert referral["reasons"][1] == "1 referral in the last 365 days"
    assert found[("c2", "c3")]["reasons"][1] == "1 shared meeting in the last 365 days"
    assert found[("c1", "c4")]["reasons"][:2] == [
        "last interaction today",
        "1 shared deal in the last 365 days",
    ]
    assert all(c["computedAt"] == AS_OF_MS and 0 <= c["strength"] <= 100 for c in found.values())


async def test_only_interactions_in_the_window_before_as_of_count(graph: GraphStore) -> None:
    await people(graph, "u1", "ancient", "future", "c1", "c2")
    await activities(graph, "u1", ["ancient"], "meeting", [400])
    await activities(graph, "u1", ["future"], "meeting", [-10])
    await graph.write(
        "MATCH (a:Customer {id: 'c1'}), (b:Customer {id: 'c2'}) CREATE (a)-[:KNOWS {since: $since}]->(b)",
        {"since": AS_OF_MS + DAY_MS},
    )
    await compute_strength(graph, as_of=AS_OF)
    assert await connections(graph) == {}

    later = await compute_strength(graph, as_of=AS_OF + timedelta(days=30))
    assert set(await connections(graph)) == {("u1", "future"), ("c1", "c2"), ("c2", "c1")}
    assert later.as_of == AS_OF_MS + 30 * DAY_MS
    wider = await compute_strength(graph, as_of=AS_OF, window_days=500)
    assert set(await connections(graph)) == {("u1", "ancient")}
    assert wider.replaced == 3


async def an_email_and_a_tie(graph: GraphStore) -> None:
    """u1 emailed c1 30 days before ``AS_OF``; c1 KNOWS c2."""
    await people(graph, "u1", "c1", "c2")
    await activities(graph, "u1", ["c1"], "email", [30], "outbound")
    await graph.write("MATCH (a:Customer {id: 'c1'}), (b:Customer {id: 'c2'}) CREATE (a)-[:KNOWS]->(b)")


async def the_tie_broken_and_a_meeting(graph: GraphStore) -> None:
    """Then c1 no longer KNOWS c2, and u1 met c1 2 days before ``AS_OF``."""
    await graph.write("MATCH (:Customer {id: 'c1'})-[k:KNOWS]->() DELETE k")
    await activities(graph, "u1", ["c1"], "meeting", [2])


async def test_recomputing_replaces_values_and_removes_pairs_that_no_longer_interact(
    graph: GraphStore,
) -> None:
    await an_email_and_a_tie(graph)
    first = await compute_strength(graph, as_of=AS_OF)
    before = await connections(graph)
    assert set(before) == {("u1", "c1"), ("c1", "c2"), ("c2", "c1")}
    assert first.replaced == 0

    await the_tie_broken_and_a_meeting(graph)
    second = await compute_strength(graph, as_of=AS_OF)
    after = await connections(graph)
    assert set(after) == {("u1", "c1")}
    assert after[("u1", "c1")]["interactions"] == 2
    assert after[("u1", "c1")]["strength"] > before[("u1", "c1")]["strength"]
    assert second.replaced == 3

    await compute_strength(graph, as_of=AS_OF)
    assert await connections(graph) == after, "the same graph and as-of time give the same result"


async def test_a_recomputation_records_pairs_linked_unlinked_and_moved_as_change_events(
    graph: GraphStore,
) -> None:
    await an_email_and_a_tie(graph)
    first = await compute_strength(graph, as_of=AS_OF)
    stored = await connections(graph)
    staff, peers = stored[("u1", "c1")]["strength"], stored[("c1", "c2")]["strength"]
    linked = await recorded_events(graph)
    assert [(e["type"], e["label"], e["ids"], e["labels"], e["fields"]) for e in linked] == [
        ("linked", "CONNECTED_TO", ["u1", "c1"], ["User", "Customer"], {"strength": [None, staff]}),
        ("linked", "CONNECTED_TO", ["c1", "c2"], ["Customer", "Customer"], {"strength": [None, peers]}),
    ]  # fmt: skip
    assert {e["actor"] for e in linked} == {"algorithm:strength"} and first.changes == 2
    seen = linked[-1]["seq"]

    again = await compute_strength(graph, as_of=AS_OF + timedelta(hours=1))  # components move, strengths not
    assert await recorded_events(graph, seen) == [] and again.changes == 0

    await the_tie_broken_and_a_meeting(graph)
    await compute_strength(graph, as_of=AS_OF)
    stronger = (await connections(graph))[("u1", "c1")]["strength"]
    changed = await recorded_events(graph, seen)
    assert [(e["type"], e["ids"], e["fields"]) for e in changed] == [
        ("updated", ["u1", "c1"], {"strength": [staff, stronger]}),
        ("unlinked", ["c1", "c2"], {}),
    ]


async def test_the_strength_command_recomputes_and_reports(
    graph: GraphStore, store_env: dict[str, str]
) -> None:
    await people(graph, "u1", "c1", "c2")
    await activities(graph, "u1", ["c1", "c2"], "meeting", [1])
    result = run("strength", "--as-of", "2026-06-01", env=store_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"relationship strength as of 2026-06-01 00:00:00 UTC on {graph.backend}:"
    )
    assert "2 staff-customer and 1 customer-customer pairs over 2 customers" in result.stdout
    assert set(await connections(graph)) == {("u1", "c1"), ("u1", "c2"), ("c1", "c2"), ("c2", "c1")}


# -- in the server -------------------------------------------------------------------------------
@asynccontextmanager
async def running_app(
    store: GraphStore, tmp_path: Path, strength_interval: float
) -> AsyncIterator[ApiClient]:
    """The application served on ``store`` over real HTTP, and a client for it."""
    settings = settings_for(store.backend, tmp_path).model_copy(
        update={
            "strength_interval": strength_interval,
            "jwt_secret": SecretStr("strength-tests-signing-secret-of-32-chars"),
        }
    )
    async with (
        serving(create_app(settings, store=store)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        yield ApiClient(http, store, settings)


async def test_graphql_shows_connections_with_their_strength(graph: GraphStore, tmp_path: Path) -> None:
    await people(graph, "u1", "c1", "c2")
    await activities(graph, "u1", ["c1", "c2"], "meeting", [1])
    await compute_strength(graph, as_of=AS_OF)
    query = """{
      users { nodes { connections { edges { strength channel reasons computedAt node { firstName } } } } }
      customers(where: {firstName: {eq: "c1"}}) { nodes {
        connections { nodes { firstName } }
        staffConnections { edges { strength node { name } } } } }
    }"""
    async with running_app(graph, tmp_path, 0) as api:
        response = await api.post_graphql(query, token=api.token("admin"))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    edges = data["users"]["nodes"][0]["connections"]["edges"]
    assert sorted(e["node"]["firstName"] for e in edges) == ["c1", "c2"]
    assert edges[0]["strength"] == 34 and edges[0]["channel"] == 0.25
    assert edges[0]["reasons"][1] == "1 meeting in the last 365 days"
    assert edges[0]["computedAt"].startswith("2026-06-01T00:00:00")
    (c1,) = data["customers"]["nodes"]
    assert c1["connections"]["nodes"] == [{"firstName": "c2"}]
    assert c1["staffConnections"]["edges"] == [{"strength": 34, "node": {"name": "u1"}}]


async def test_the_server_recomputes_strength_when_an_interval_is_set(
    graph: GraphStore, tmp_path: Path
) -> None:
    await people(graph, "u1", "c1")
    await activities(graph, "u1", ["c1"], "call", [1], "inbound", at=now_millis())
    async with running_app(graph, tmp_path, 3600):
        for _ in range(200):
            if await connections(graph):
                break
            await asyncio.sleep(0.05)
    assert set(await connections(graph)) == {("u1", "c1")}


async def test_a_recurring_job_runs_once_per_interval_across_server_processes(graph: GraphStore) -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(now_millis())
        await asyncio.sleep(0.2)

    # Two workers of one server, each with the same schedule.
    async with recurring(graph, "probe", 3600, job), recurring(graph, "probe", 3600, job):
        await asyncio.sleep(1.0)
    assert len(runs) == 1
    assert not await run_if_due(graph, "probe", 3600, job, lease_s=60), "it ran less than an interval ago"
    assert await run_if_due(graph, "probe", 0.001, job, lease_s=60)


async def test_a_failed_run_is_tried_again_at_the_next_tick(graph: GraphStore) -> None:
    attempts: list[int] = []

    async def failing() -> None:
        attempts.append(1)
        raise RuntimeError("store hiccup")

    assert await run_if_due(graph, "flaky", 3600, failing, lease_s=60)
    assert await run_if_due(graph, "flaky", 3600, failing, lease_s=60), "a failure does not count as a run"
    assert len(attempts) == 2
    rows = await graph.read("MATCH (j:_Job {name: 'flaky'}) RETURN j.lastRunAt AS last, j.holder AS holder")
    assert rows == [{"last": None, "holder": None}]
