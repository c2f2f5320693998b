"""The transactional outbox, on each backend: every mutation records its changes in its own
transaction, numbered in commit order; a mutation that writes nothing records nothing."""

from __future__ import annotations

from typing import Any

from tests.api_client import ApiClient
from tests.live_api import committed_seq
from tests.outbox_state import recorded_events


async def graphql(api: ApiClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await api.post_graphql(query, variables, token=api.token("admin"))
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def test_a_create_records_the_record_and_its_links_in_commit_order(api: ApiClient) -> None:
    start = await committed_seq(api.store)
    account = (
        await graphql(api, 'mutation { createAccount(fields: {name: "Outbox Ltd"}) { record { id } } }')
    )["createAccount"]["record"]["id"]
    created = await graphql(
        api,
        """mutation($a: ID!) { createCustomer(fields: {firstName: "Eve", lastName: "Event"},
             connect: {employers: [{id: $a, properties: {title: "CFO"}}]}) { record { id } } }""",
        {"a": account},
    )
    customer = created["createCustomer"]["record"]["id"].split(":", 1)[1]
    events = await recorded_events(api.store, start)
    seqs = [e["seq"] for e in events]
    # Consecutive and after every earlier event; past the stream's history, should an earlier
    # test have cleared the graph under a stream that kept it (the relay renumbers them then).
    assert seqs[0] > start and seqs == list(range(seqs[0], seqs[0] + 3))
    assert [(e["type"], e["label"]) for e in events] == [
        ("created", "Account"), ("created", "Customer"), ("linked", "WORKS_AT")
    ]  # fmt: skip
    person, link = events[1], events[2]
    assert person["ids"] == [customer] and person["fields"]["firstName"] == [None, "Eve"]
    assert person["actor"] == "test:admin"
    assert link["ids"] == [customer, account.split(":", 1)[1]] and link["labels"] == ["Customer", "Account"]
    assert link["fields"] == {"title": [None, "CFO"]}


async def test_an_update_records_old_and_new_values_of_what_changed(api: ApiClient) -> None:
    account = (await graphql(api, 'mutation { createAccount(fields: {name: "Before"}) { record { id } } }'))[
        "createAccount"
    ]["record"]["id"]
    start = await committed_seq(api.store)
    await graphql(
        api,
        'mutation($id: ID!) { updateAccount(id: $id, set: {name: "After"}) { record { id } } }',
        {"id": account},
    )
    (event,) = await recorded_events(api.store, start)
    assert event["type"] == "updated" and event["fields"]["name"] == ["Before", "After"]
    assert event["fields"]["version"] == [1, 2] and "industry" not in event["fields"]


async def test_a_rejected_mutation_records_nothing(api: ApiClient) -> None:
    start = await committed_seq(api.store)
    body = await graphql(api, 'mutation { createAccount(fields: {name: ""}) { userErrors { code } } }')
    assert body["createAccount"]["userErrors"]
    assert await recorded_events(api.store, start) == []


async def test_a_cascading_delete_records_every_deleted_record(api: ApiClient) -> None:
    account = (await graphql(api, 'mutation { createAccount(fields: {name: "Gone"}) { record { id } } }'))[
        "createAccount"
    ]["record"]["id"]
    deal = await graphql(
        api,
        """mutation($a: ID!) { createDeal(fields: {name: "Open", stage: proposal, amount: 1, currency: "EUR"},
             connect: {accounts: [{id: $a}]}) { record { id } } }""",
        {"a": account},
    )
    start = await committed_seq(api.store)
    await graphql(
        api, "mutation($id: ID!) { deleteAccount(id: $id, cascade: true) { deletedId } }", {"id": account}
    )
    events = await recorded_events(api.store, start)
    assert [(e["type"], e["label"], e["ids"]) for e in events] == [
        ("deleted", "Deal", [deal["createDeal"]["record"]["id"].split(":", 1)[1]]),
        ("deleted", "Account", [account.split(":", 1)[1]]),
    ]
