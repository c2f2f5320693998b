"""GraphQL mutations over real HTTP on each backend: validated writes in one transaction,
userErrors naming field and rule with nothing written, lost updates refused, upserts by
external id, explicit delete rules, and record rules for who may change what."""

from __future__ import annotations

from typing import Any

from tests.api_client import ApiClient
from tests.demo_facts import rep_with_own_and_other_deal

ERRORS = "userErrors { field message code }"


async def mutate(api: ApiClient, query: str, variables: dict[str, Any] | None = None, role: str = "admin",
                 user_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    response = await api.post_graphql(query, variables, token=api.token(role, user_id=user_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def count(api: ApiClient, cypher: str, params: dict[str, Any] | None = None) -> int:
    rows = await api.store.read(cypher, params or {})
    return int(rows[0]["n"])


async def new_account(api: ApiClient, name: str) -> str:
    body = await mutate(
        api, f'mutation {{ createAccount(fields: {{name: "{name}"}}) {{ record {{ id }} {ERRORS} }} }}'
    )
    return str(body["data"]["createAccount"]["record"]["id"])


async def test_create_with_links_returns_the_record_as_selected(api: ApiClient) -> None:
    account = await new_account(api, "Analytical Engines Ltd")
    body = await mutate(
        api,
        """mutation($account: ID!) { createCustomer(
             fields: {firstName: "Ada", lastName: "Lovelace", email: "ADA@Example.com",
                      phone: "+44 20 7946 0958"},
             connect: {employers: [{id: $account,
                                    properties: {title: "CTO", since: "2024-01-01T00:00:00Z"}}]}) {
           record { id version createdAt email phone employers { edges { title since node { id name } } } }
           userErrors { code } } }""",
        {"account": account},
    )
    payload = body["data"]["createCustomer"]
    record = payload["record"]
    assert payload["userErrors"] == [] and record["version"] == 1 and record["createdAt"].endswith("+00:00")
    assert (record["email"], record["phone"]) == (
        "ADA@example.com",
        "+442079460958",
    )  # normalised by the model
    assert record["employers"]["edges"] == [
        {
            "title": "CTO",
            "since": "2024-01-01T00:00:00+00:00",
            "node": {"id": account, "name": "Analytical Engines Ltd"},
        }
    ]
    customer_id = record["id"].split(":", 1)[1]
    assert (
        await count(
            api,
            "MATCH (:Customer {id: $id})-[:WORKS_AT]->(:Account) RETURN count(*) AS n",
            {"id": customer_id},
        )
        == 1
    )


async def test_invalid_input_names_every_field_and_rule_and_writes_nothing(api: ApiClient) -> None:
    before = await count(api, "MATCH (c:Customer) RETURN count(c) AS n")
    body = await mutate(
        api,
        f"""mutation {{ createCustomer(fields: {{firstName: "", email: "not-an-email", country: "XX"}},
              connect: {{employers: [{{id: "Account:no-such-account"}}]}}) {{
              record {{ id }} {ERRORS} }} }}""",
    )
    payload = body["data"]["createCustomer"]
    assert payload["record"] is None
    problems = {(e["field"], e["code"]) for e in payload["userErrors"]}
    assert problems == {
        ("createCustomer.fields.firstName", "MIN_LENGTH"),
        ("createCustomer.fields.lastName", "REQUIRED"),
        ("createCustomer.fields.email", "EMAIL"),
        ("createCustomer.fields.country", "COUNTRY"),
    }
    assert await count(api, "MATCH (c:Customer) RETURN count(c) AS n") == before


async def test_a_link_to_a_missing_record_rolls_the_whole_mutation_back(api: ApiClient) -> None:
    body = await mutate(
        api,
        f"""mutation {{ createCustomer(fields: {{firstName: "Orphan", lastName: "Record"}},
              connect: {{employers: [{{id: "Account:no-such-account"}}]}}) {{
              record {{ id }} {ERRORS} }} }}""",
    )
    payload = body["data"]["createCustomer"]
    assert payload["record"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("createCustomer.connect.employers.0.id", "NOT_FOUND")
    ]
    assert await count(api, "MATCH (c:Customer {firstName: 'Orphan'}) RETURN count(c) AS n") == 0


async def test_a_batch_is_all_or_nothing(api: ApiClient) -> None:
    bad = await mutate(
        api, f'mutation {{ createAccounts(items: [{{fields: {{name: "Batch One"}}}}, '
        f"{{fields: {{employees: -1}}}}]) "
        f"{{ records {{ id }} {ERRORS} }} }}",
    )  # fmt: skip
    assert {(e["field"], e["code"]) for e in bad["data"]["createAccounts"]["userErrors"]} == {
        ("createAccounts.items.1.fields.name", "REQUIRED"),
        ("createAccounts.items.1.fields.employees", "MINIMUM"),
    }
    assert await count(api, "MATCH (a:Account {name: 'Batch One'}) RETURN count(a) AS n") == 0
    good = await mutate(
        api, 'mutation { createAccounts(items: [{fields: {name: "Batch One"}}, '
        '{fields: {name: "Batch Two"}}]) '
        "{ records { name } userErrors { code } } }",
    )  # fmt: skip
    assert good["data"]["createAccounts"] == {
        "records": [{"name": "Batch One"}, {"name": "Batch Two"}],
        "userErrors": [],
    }


async def test_updates_refuse_a_stale_version_and_change_links_in_the_same_transaction(
    api: ApiClient,
) -> None:
    account, other = await new_account(api, "Versioned Inc"), await new_account(api, "Parent Corp")
    update = """mutation($id: ID!, $v: Int, $parent: ID!) { updateAccount(id: $id, expectedVersion: $v,
                  set: {industry: "Software", domain: null}, connect: {parents: [{id: $parent}]}) {
                  record { version industry domain parents { nodes { id } } } userErrors { field code } } }"""
    first = await mutate(api, update, {"id": account, "v": 1, "parent": other})
    assert first["data"]["updateAccount"]["record"] == {
        "version": 2, "industry": "Software", "domain": None, "parents": {"nodes": [{"id": other}]}
    }  # fmt: skip
    stale = await mutate(api, update, {"id": account, "v": 1, "parent": other})
    assert stale["data"]["updateAccount"] == {
        "record": None, "userErrors": [{"field": "updateAccount.expectedVersion", "code": "VERSION_CONFLICT"}]
    }  # fmt: skip
    unlink = await mutate(
        api,
        "mutation($id: ID!, $parent: ID!) { updateAccount(id: $id, disconnect: {parents: [$parent]}) "
        "{ record { version parents { totalCount } } } }",
        {"id": account, "parent": other},
    )
    assert unlink["data"]["updateAccount"]["record"] == {"version": 3, "parents": {"totalCount": 0}}


async def test_upsert_by_external_id_is_idempotent(api: ApiClient) -> None:
    upsert = """mutation($name: String!) { upsertAccount(externalId: "crm-0042", set: {name: $name}) {
                  record { id name version externalId } userErrors { code } } }"""
    created = (await mutate(api, upsert, {"name": "Upserted"}))["data"]["upsertAccount"]["record"]
    again = (await mutate(api, upsert, {"name": "Upserted"}))["data"]["upsertAccount"]["record"]
    renamed = (await mutate(api, upsert, {"name": "Renamed"}))["data"]["upsertAccount"]["record"]
    assert created["id"] == again["id"] == renamed["id"] and renamed["name"] == "Renamed"
    assert created["externalId"] == "crm-0042"
    assert await count(api, "MATCH (a:Account {externalId: 'crm-0042'}) RETURN count(a) AS n") == 1


async def test_an_account_with_open_deals_is_deleted_only_with_cascade(api: ApiClient) -> None:
    account = await new_account(api, "Doomed Co")
    deal = await mutate(
        api,
        """mutation($a: ID!) { createDeal(
             fields: {name: "Open deal", stage: proposal, amount: 100000, currency: "EUR"},
             connect: {accounts: [{id: $a}]}) { record { id } userErrors { code } } }""",
        {"a": account},
    )
    deal_id = deal["data"]["createDeal"]["record"]["id"].split(":", 1)[1]
    refused = await mutate(api, "mutation($id: ID!) { deleteAccount(id: $id) "
                           "{ deletedId userErrors { field code } } }",
                           {"id": account})  # fmt: skip
    assert refused["data"]["deleteAccount"] == {
        "deletedId": None, "userErrors": [{"field": "deleteAccount.cascade", "code": "HAS_DEPENDENTS"}]
    }  # fmt: skip
    assert await count(api, "MATCH (d:Deal {id: $id}) RETURN count(d) AS n", {"id": deal_id}) == 1
    cascaded = await mutate(
        api, "mutation($id: ID!) { deleteAccount(id: $id, cascade: true) { deletedId userErrors { code } } }",
        {"id": account},
    )  # fmt: skip
    assert cascaded["data"]["deleteAccount"] == {"deletedId": account, "userErrors": []}
    assert await count(api, "MATCH (d:Deal {id: $id}) RETURN count(d) AS n", {"id": deal_id}) == 0


async def test_roles_that_only_read_cannot_write(api: ApiClient) -> None:
    for role in ("viewer", "analyst"):
        response = await api.post_graphql(
            'mutation { createAccount(fields: {name: "Not Allowed"}) { record { id } } }',
            token=api.token(role),
        )
        body = response.json()
        assert body["data"] == {"createAccount": None}
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count(api, "MATCH (a:Account {name: 'Not Allowed'}) RETURN count(a) AS n") == 0


async def test_sales_reps_change_their_own_deals_only(api: ApiClient) -> None:
    rep, mine, theirs = await rep_with_own_and_other_deal(api.store)
    update = (
        'mutation($id: ID!) { updateDeal(id: $id, set: {lossReason: "pricing"}) { record { lossReason } } }'
    )
    own = await mutate(api, update, {"id": f"Deal:{mine}"}, role="sales", user_id=rep)
    assert own["data"]["updateDeal"]["record"] == {"lossReason": "pricing"}
    response = await api.post_graphql(update, {"id": f"Deal:{theirs}"}, token=api.token("sales", user_id=rep))
    body = response.json()
    assert body["data"] == {"updateDeal": None} and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "pricing" not in response.text.replace(update, "")
    assert await count(api, "MATCH (d:Deal {id: $id}) WHERE d.lossReason = 'pricing' RETURN count(d) AS n",
                       {"id": theirs}) == 0  # fmt: skip
    created = await mutate(
        api, 'mutation { createDeal(fields: {name: "Rep deal", stage: prospecting, amount: 5000, '
        'currency: "USD"}) '
        "{ record { id owners { nodes { id } } } } }", role="sales", user_id=rep,
    )  # fmt: skip
    assert created["data"]["createDeal"]["record"]["owners"]["nodes"] == [{"id": f"User:{rep}"}]


async def test_batch_updates_and_deletes_are_all_or_nothing(api: ApiClient) -> None:
    first, second = await new_account(api, "Batch A"), await new_account(api, "Batch B")
    update = """mutation($items: [AccountUpdateItem!]!) { updateAccounts(items: $items) {
                  records { name version } userErrors { field code } } }"""
    stale = await mutate(
        api, update, {"items": [{"id": first, "set": {"industry": "Retail"}},
                                {"id": second, "expectedVersion": 7, "set": {"industry": "Retail"}}]},
    )  # fmt: skip
    conflict = {"field": "updateAccounts.items.1.expectedVersion", "code": "VERSION_CONFLICT"}
    assert stale["data"]["updateAccounts"] == {"records": [], "userErrors": [conflict]}
    assert await count(api, "MATCH (a:Account {industry: 'Retail'}) RETURN count(a) AS n") == 0
    both = await mutate(api, update, {"items": [{"id": first, "set": {"industry": "Retail"}},
                                                {"id": second, "set": {"industry": "Retail"}}]})  # fmt: skip
    assert both["data"]["updateAccounts"]["records"] == [
        {"name": "Batch A", "version": 2},
        {"name": "Batch B", "version": 2},
    ]
    deleted = await mutate(
        api, "mutation($ids: [ID!]!) { deleteAccounts(ids: $ids) { deletedIds userErrors { field code } } }",
        {"ids": [first, "Account:no-such-account"]},
    )  # fmt: skip
    assert deleted["data"]["deleteAccounts"] == {
        "deletedIds": [], "userErrors": [{"field": "deleteAccounts.ids.1.id", "code": "NOT_FOUND"}]
    }  # fmt: skip
    assert await count(api, "MATCH (a:Account {name: 'Batch A'}) RETURN count(a) AS n") == 1
    gone = await mutate(
        api, "mutation($ids: [ID!]!) { deleteAccounts(ids: $ids) { deletedIds } }", {"ids": [first, second]}
    )
    assert gone["data"]["deleteAccounts"]["deletedIds"] == [first, second]
