"""GraphQL queries over real HTTP, on each backend: one Cypher query per root field, with
nested relationships, filters, sorting, keyset pagination and aggregates, answering what
the graph holds."""

from __future__ import annotations

from typing import Any

from rapport.app import create_app
from tests.api_client import ApiClient
from tests.counting_store import CountingStore
from tests.http_server import serving

ACCOUNT_WITH_CONTACTS_DEALS_OWNER = """
query Account($id: ID!) {
  account(id: $id) {
    id name
    contacts(first: 100) { totalCount edges { title since node { id firstName lastName } } }
    deals(where: {stage: {notIn: [closed_won, closed_lost]}}) { nodes { id name stage amount } }
    owners(first: 1) { nodes { id name email } }
  }
}
"""


async def data_of(
    api: ApiClient, query: str, variables: dict[str, Any] | None = None, role: str = "admin"
) -> Any:
    response = await api.post_graphql(query, variables, token=api.token(role))
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


async def scalar(api: ApiClient, cypher: str, params: dict[str, Any] | None = None) -> Any:
    rows = await api.store.read(cypher, params or {})
    return next(iter(rows[0].values()))


async def an_account_with_open_deals(api: ApiClient) -> str:
    return str(
        await scalar(
            api,
            "MATCH (a:Account)<-[:FOR_ACCOUNT]-(d:Deal) WHERE NOT d.stage IN ['closed_won', 'closed_lost'] "
            "RETURN a.id AS id ORDER BY id LIMIT 1",
        )
    )


async def test_an_account_with_its_contacts_open_deals_and_owner(api: ApiClient) -> None:
    account_id = await an_account_with_open_deals(api)
    data = await data_of(api, ACCOUNT_WITH_CONTACTS_DEALS_OWNER, {"id": f"Account:{account_id}"})
    account = data["account"]
    assert account["id"] == f"Account:{account_id}"
    assert account["name"] == await scalar(
        api, "MATCH (a:Account {id: $id}) RETURN a.name AS n", {"id": account_id}
    )
    contacts = await api.store.read(
        "MATCH (a:Account {id: $id})<-[w:WORKS_AT]-(c:Customer) "
        "RETURN c.id AS id, w.title AS title ORDER BY id",
        {"id": account_id},
    )
    assert account["contacts"]["totalCount"] == len(contacts)
    assert [(e["node"]["id"], e["title"]) for e in account["contacts"]["edges"]] == [
        (f"Customer:{c['id']}", c["title"]) for c in contacts
    ]
    assert all(e["since"] is None or e["since"].endswith("+00:00") for e in account["contacts"]["edges"])
    open_deals = {node["stage"] for node in account["deals"]["nodes"]}
    assert open_deals and not open_deals & {"closed_won", "closed_lost"}
    owner = await scalar(
        api, "MATCH (a:Account {id: $id})<-[:OWNS]-(u:User) RETURN u.email AS e", {"id": account_id}
    )
    assert [n["email"] for n in account["owners"]["nodes"]] == [owner]


async def test_each_root_field_is_one_database_round_trip_answering_one_row(api: ApiClient) -> None:
    customers = [
        f"Customer:{row['id']}"
        for row in await api.store.read("MATCH (c:Customer) RETURN c.id AS id ORDER BY id LIMIT 3")
    ]
    query = """query($customers: [ID!]!) {
      deals(first: 5, orderBy: [{field: amount, direction: DESC}]) {
        totalCount aggregate { count countBy(field: stage) { value count } }
        edges { node { name
          accounts { nodes { name contacts { nodes { lastName employers { totalCount } } } } }
                       people(edgeWhere: {role: {eq: champion}}) { edges { role node { lastName } } } } }
      }
      accounts(first: 3) { nodes { name deals { totalCount } } }
      nodes(ids: $customers) { id ... on Customer { lastName } }
    }"""
    data, counting = await with_reads_counted(api, query, {"customers": customers})
    assert len(counting.reads) == 3 and counting.rows == [1, 1, 1]
    assert len(data["deals"]["edges"]) == 5
    assert [node["id"] for node in data["nodes"]] == customers


async def with_reads_counted(
    api: ApiClient, query: str, variables: dict[str, Any] | None = None
) -> tuple[Any, CountingStore]:
    """The data ``query`` answers, and the store that counted its database reads, on an app over it."""
    counting = CountingStore(api.store)
    async with serving(create_app(api.settings, store=counting)) as base_url:  # type: ignore[arg-type]
        counting.reads.clear()  # start-up reads the custom fields
        counting.rows.clear()
        response = await api.http.post(
            f"{base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {api.token('admin')}"},
        )
    assert response.status_code == 200 and "errors" not in response.json(), response.json()
    return response.json()["data"], counting


async def test_pages_forward_and_backward_visit_every_record_once_in_order(api: ApiClient) -> None:
    # closedAt is null for open deals: nulls sort last whichever the direction.
    order = "orderBy: [{field: closedAt, direction: DESC}]"
    expected = [
        f"Deal:{row['id']}"
        for row in await api.store.read(
            "MATCH (d:Deal) RETURN d.id AS id ORDER BY d.closedAt IS NULL, d.closedAt DESC, d.id"
        )
    ]
    seen, after, pages = [], None, 0
    while True:
        data = await data_of(
            api,
            f"query($after: String) {{ deals(first: 4, after: $after, {order}) "
            "{ edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }",
            {"after": after},
        )
        connection = data["deals"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        assert connection["pageInfo"]["hasPreviousPage"] == (after is not None)
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == expected and pages == -(-len(expected) // 4)

    backward, before = [], None
    while True:
        data = await data_of(
            api,
            f"query($before: String) {{ deals(last: 4, before: $before, {order}) "
            "{ edges { node { id } } pageInfo { hasPreviousPage startCursor } } }",
            {"before": before},
        )
        connection = data["deals"]
        backward = [edge["node"]["id"] for edge in connection["edges"]] + backward
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert backward == expected


async def test_filters_match_what_the_graph_holds(api: ApiClient) -> None:
    cases = [
        ("{stage: {in: [closed_won, negotiation]}, amount: {gt: 1000000}}",
         "d.stage IN ['closed_won', 'negotiation'] AND d.amount > 1000000"),
        ("{OR: [{stage: {eq: closed_lost}}, {closedAt: {isNull: true}}]}",
         "d.stage = 'closed_lost' OR d.closedAt IS NULL"),
        ("{NOT: {name: {contains: \"Systems\"}}}", "NOT d.name CONTAINS 'Systems'"),
        ("{name: {startsWith: \"A\"}, lossReason: {isNull: false}}",
         "d.name STARTS WITH 'A' AND d.lossReason IS NOT NULL"),
        ("{closedAt: {gte: \"2026-01-01T00:00:00Z\"}}", "d.closedAt >= 1767225600000"),
    ]  # fmt: skip
    for where, cypher in cases:
        data = await data_of(api, f"{{ deals(where: {where}) {{ totalCount }} }}")
        assert data["deals"]["totalCount"] == await scalar(
            api, f"MATCH (d:Deal) WHERE {cypher} RETURN count(d) AS c"
        ), where


async def test_relationship_filters_some_none_all_single(api: ApiClient) -> None:
    big = 5_000_000
    counts = await api.store.read(
        "MATCH (a:Account) OPTIONAL MATCH (a)<-[:FOR_ACCOUNT]-(d:Deal) "
        "WITH a, count(d) AS total, count(CASE WHEN d.amount > $big THEN 1 END) AS big "
        "RETURN sum(CASE WHEN big > 0 THEN 1 ELSE 0 END) AS some, "
        "sum(CASE WHEN big = 0 THEN 1 ELSE 0 END) AS none, "
        "sum(CASE WHEN big = total THEN 1 ELSE 0 END) AS all, "
        "sum(CASE WHEN big = 1 THEN 1 ELSE 0 END) AS single",
        {"big": big},
    )
    for quantifier in ("some", "none", "all", "single"):
        data = await data_of(
            api,
            f"{{ accounts(where: {{deals: {{{quantifier}: {{amount: {{gt: {big}}}}}}}}}) {{ totalCount }} }}",
        )
        assert data["accounts"]["totalCount"] == counts[0][quantifier], quantifier
    nested = await data_of(
        api, "{ accounts(where: {deals: {some: {owners: {some: {role: {eq: sales}}}}}}) { totalCount } }"
    )
    assert nested["accounts"]["totalCount"] == await scalar(
        api,
        "MATCH (a:Account)<-[:FOR_ACCOUNT]-(:Deal)<-[:OWNS]-(u:User {role: 'sales'}) "
        "RETURN count(DISTINCT a) AS c",
    )


async def test_aggregates_over_a_filtered_connection(api: ApiClient) -> None:
    data = await data_of(
        api,
        """{ deals(where: {amount: {gt: 0}}) { aggregate {
             count sum { amount } avg { amount } min { amount closedAt } max { amount }
             byStage: countBy(field: stage) { value count } } } }""",
    )
    aggregate = data["deals"]["aggregate"]
    rows = await api.store.read(
        "MATCH (d:Deal) WHERE d.amount > 0 RETURN count(d) AS c, sum(d.amount) AS s, avg(d.amount) AS a, "
        "min(d.amount) AS lo, max(d.amount) AS hi"
    )
    facts = rows[0]
    assert aggregate["count"] == facts["c"] and aggregate["sum"]["amount"] == facts["s"]
    assert abs(aggregate["avg"]["amount"] - facts["a"]) < 1e-6
    assert (aggregate["min"]["amount"], aggregate["max"]["amount"]) == (facts["lo"], facts["hi"])
    stages = await api.store.read(
        "MATCH (d:Deal) WHERE d.amount > 0 RETURN d.stage AS value, count(*) AS count ORDER BY value"
    )
    assert aggregate["byStage"] == stages


async def test_nodes_by_global_id_in_the_order_asked(api: ApiClient) -> None:
    account_id = await an_account_with_open_deals(api)
    customer_id = await scalar(api, "MATCH (c:Customer) RETURN c.id AS id ORDER BY id LIMIT 1")
    data = await data_of(
        api,
        """query($ids: [ID!]!, $one: ID!) {
             nodes(ids: $ids) { __typename id ... on Customer { lastName } ... on Account { name } }
             node(id: $one) { id ... on Account { name } }
             missing: node(id: "Account:no-such-id") { id }
             malformed: node(id: "nonsense") { id }
             __schema { queryType { name } }
           }""",
        {
            "ids": [f"Customer:{customer_id}", "Deal:no-such-id", f"Account:{account_id}"],
            "one": f"Account:{account_id}",
        },
    )
    assert [n and n["__typename"] for n in data["nodes"]] == ["Customer", None, "Account"]
    assert "name" not in data["nodes"][0] and "lastName" not in data["nodes"][2]
    assert (
        data["node"]["id"] == f"Account:{account_id}"
        and data["missing"] is None
        and data["malformed"] is None
    )
    assert data["__schema"]["queryType"]["name"] == "Query"
