"""Typed subscriptions over a real WebSocket, on each backend: ``dealChanged(where)`` delivers
the deal as it is after each matching change, with the selection asked for (nested
relationships and aliases included) and the subscriber's record rules applied;
``scoreChanged(minDelta)`` reports the scores that moved enough; ``changes(where)`` narrows
by change type, changed field and actor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import websockets

from rapport.graph.types import GraphStore
from tests.counting_store import CountingStore
from tests.demo_facts import rep_with_own_and_other_deal
from tests.live_api import LiveApi, connect, live_api, next_result, subscribe

DEAL_CHANGED = """
subscription($since: Int, $where: DealWhere) {
  dealChanged(since: $since, where: $where) {
    seq type fields
    deal { name amount stage accounts { edges { node { name } } } }
    again: deal { __typename name }
  }
}"""

CREATE_DEAL = """
mutation($name: String!, $amount: Long!, $account: ID!) {
  createDeal(fields: {name: $name, stage: proposal, amount: $amount, currency: "EUR"},
             connect: {accounts: [{id: $account}]}) { record { id } }
}"""


async def an_account(live: LiveApi) -> tuple[str, str]:
    rows = await live.store.read("MATCH (a:Account) RETURN a.id AS id, a.name AS name ORDER BY id LIMIT 1")
    return rows[0]["id"], rows[0]["name"]


async def next_typed(socket: websockets.ClientConnection, field: str) -> dict[str, Any]:
    payload = await next_result(socket)
    assert "errors" not in payload, payload
    value: dict[str, Any] = payload["data"][field]
    return value


async def test_deal_changed_delivers_matching_deals_as_they_are_now(live: LiveApi) -> None:
    account_id, account_name = await an_account(live)
    since = await live.published_seq()
    socket = await connect(live, live.token("admin"))
    try:
        await subscribe(socket, {"since": since, "where": {"amount": {"gt": 100_000}}}, DEAL_CHANGED)
        await live.mutate(CREATE_DEAL, {"name": "Small", "amount": 50_000, "account": account_id})
        created = await live.mutate(CREATE_DEAL, {"name": "Large", "amount": 200_000, "account": account_id})
        deal_id = created["createDeal"]["record"]["id"]
        await live.mutate(
            "mutation($id: ID!) { updateDeal(id: $id, set: {stage: negotiation}) { record { id } } }",
            {"id": deal_id},
        )
        first, linked, second = [await next_typed(socket, "dealChanged") for _ in range(3)]
    finally:
        await socket.close()
    # The small deal never matched; the large one arrives created, linked to its account (in
    # the same transaction), then updated: each time as it is now.
    assert [first["type"], linked["type"], second["type"]] == ["created", "linked", "updated"]
    assert first["seq"] < linked["seq"] < second["seq"]
    assert first["deal"]["name"] == "Large" and first["deal"]["amount"] == 200_000
    assert first["deal"]["accounts"]["edges"] == [{"node": {"name": account_name}}]
    assert first["again"] == {"__typename": "Deal", "name": "Large"}
    assert second["deal"]["stage"] == "negotiation"
    assert second["fields"]["stage"] == ["proposal", "negotiation"]


async def test_deal_changed_applies_the_subscribers_record_rules(live: LiveApi) -> None:
    rep, mine, theirs = await rep_with_own_and_other_deal(live.store)
    since = await live.published_seq()
    socket = await connect(live, live.token("sales", user_id=rep))
    try:
        await subscribe(socket, {"since": since}, DEAL_CHANGED)
        update = (
            "mutation($id: ID!, $r: String!) { updateDeal(id: $id, set: {lossReason: $r}) { record { id } } }"
        )
        await live.mutate(update, {"id": f"Deal:{theirs}", "r": "not yours"})
        await live.mutate(update, {"id": f"Deal:{mine}", "r": "yours"})
        change = await next_typed(socket, "dealChanged")
    finally:
        await socket.close()
    assert change["fields"]["lossReason"][1] == "yours"


async def test_a_deleted_deal_arrives_without_the_deal(live: LiveApi) -> None:
    account_id, _ = await an_account(live)
    created = await live.mutate(CREATE_DEAL, {"name": "Doomed", "amount": 10, "account": account_id})
    since = await live.published_seq()
    socket = await connect(live, live.token("admin"))
    try:
        await subscribe(socket, {"since": since}, DEAL_CHANGED)
        await live.mutate(
            "mutation($id: ID!) { deleteDeal(id: $id, cascade: true) { deletedId } }",
            {"id": created["createDeal"]["record"]["id"]},
        )
        change = await next_typed(socket, "dealChanged")
    finally:
        await socket.close()
    assert change["type"] == "deleted" and change["deal"] is None and change["again"] is None


SCORE_CHANGED = """
subscription($since: Int) {
  scoreChanged(since: $since, minDelta: 0.1, where: {labels: ["Account"]}) {
    seq score label id oldValue newValue delta
  }
}"""


async def test_score_changed_reports_scores_that_moved_by_min_delta(live: LiveApi) -> None:
    account_id, _ = await an_account(live)
    score = (
        "mutation($id: ID!, $risk: Float!) "
        "{ updateAccount(id: $id, set: {churnRisk: $risk}) { record { id } } }"
    )
    await live.mutate(score, {"id": f"Account:{account_id}", "risk": 0.2})
    since = await live.published_seq()
    socket = await connect(live, live.token("admin"))
    try:
        await subscribe(socket, {"since": since}, SCORE_CHANGED)
        await live.mutate(score, {"id": f"Account:{account_id}", "risk": 0.25})  # moved too little
        await live.mutate(score, {"id": f"Account:{account_id}", "risk": 0.5})
        change = await next_typed(socket, "scoreChanged")
    finally:
        await socket.close()
    assert (change["score"], change["label"], change["id"]) == (
        "churnRisk",
        "Account",
        f"Account:{account_id}",
    )
    assert (change["oldValue"], change["newValue"]) == (0.25, 0.5)
    assert change["delta"] == pytest.approx(0.25)


CHANGES_WHERE = """
subscription($since: Int, $where: ChangeWhere) {
  changes(since: $since, labels: ["Account"], where: $where) { type label fields }
}"""


async def test_changes_where_narrows_by_type_and_changed_field(live: LiveApi) -> None:
    account_id, _ = await an_account(live)
    since = await live.published_seq()
    socket = await connect(live, live.token("admin"))
    try:
        await subscribe(
            socket,
            {"since": since, "where": {"types": ["updated"], "changedFields": ["industry"]}},
            CHANGES_WHERE,
        )
        await live.mutate('mutation { createAccount(fields: {name: "Not an update"}) { record { id } } }')
        update = (
            "mutation($id: ID!, $set: AccountFields!) { updateAccount(id: $id, set: $set) { record { id } } }"
        )
        await live.mutate(update, {"id": f"Account:{account_id}", "set": {"region": "Elsewhere"}})
        await live.mutate(update, {"id": f"Account:{account_id}", "set": {"industry": "Shipbuilding"}})
        change = await next_typed(socket, "changes")
    finally:
        await socket.close()
    assert change["type"] == "updated" and change["fields"]["industry"][1] == "Shipbuilding"


async def test_an_unknown_change_type_is_refused_naming_the_argument(live: LiveApi) -> None:
    socket = await connect(live, live.token("admin"))
    try:
        await subscribe(socket, {"where": {"types": ["renamed"]}}, CHANGES_WHERE)
        message = await socket.recv()
    finally:
        await socket.close()
    assert '"type":"error"' in str(message) and "where.types: renamed is not a change type" in str(message)


async def test_identical_subscriptions_share_one_read_per_event(
    demo_store: GraphStore, redis_url: str, tmp_path: Path
) -> None:
    counting = CountingStore(demo_store)
    async with live_api(counting, redis_url, tmp_path) as api:  # type: ignore[arg-type]
        account_id, _ = await an_account(api)
        since = await api.last_seq()
        sockets = [await connect(api, api.token("admin")) for _ in range(5)]
        try:
            for socket in sockets:
                await subscribe(socket, {"since": since, "where": {"amount": {"gt": 0}}}, DEAL_CHANGED)
            await asyncio.sleep(0.2)  # all five subscribed before the change
            counting.reads.clear()
            await api.mutate(CREATE_DEAL, {"name": "Shared", "amount": 5, "account": account_id})
            changes = [[await next_typed(s, "dealChanged") for _ in range(2)] for s in sockets]
        finally:
            for socket in sockets:
                await socket.close()
    assert all([c["type"] for c in pair] == ["created", "linked"] for pair in changes)
    # One read per event and alias (deal, again) for all five subscribers, not five.
    deal_reads = [cypher for cypher in counting.reads if "n1.amount >" in cypher]  # the where
    assert len(deal_reads) == 2 * 2, deal_reads
