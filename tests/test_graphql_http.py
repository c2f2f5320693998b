"""GraphQL over HTTP as the spec says, over real HTTP on each backend: status codes and media
types, tokens, record rules in the compiled query, and the limits that protect the database."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.api.graphql_http import GRAPHQL_RESPONSE
from rapport.app import create_app
from rapport.graph.types import Params, Record
from tests.api_client import ApiClient
from tests.counting_store import CountingStore
from tests.http_server import serving

DEALS = "{ deals(first: 100) { totalCount edges { node { id } } } }"


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_no_token_or_a_bad_one_is_401(api: ApiClient) -> None:
    missing = await api.post_graphql(DEALS)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert codes(missing.json()) == ["UNAUTHENTICATED"]
    forged = await api.post_graphql(DEALS, token=api.token("admin") + "x")
    assert forged.status_code == 401 and "invalid_token" in forged.headers["www-authenticate"]


async def test_an_expired_token_is_401(api: ApiClient) -> None:
    from rapport.auth.actor import Role
    from rapport.auth.tokens import TokenIssuer

    expired = TokenIssuer.from_settings(api.settings).issue(subject="t", role=Role.ADMIN, ttl=-60)
    response = await api.post_graphql(DEALS, token=expired)
    assert response.status_code == 401 and codes(response.json()) == ["UNAUTHENTICATED"]


async def test_syntax_and_validation_errors_are_400_without_field_suggestions(api: ApiClient) -> None:
    token = api.token("admin")
    broken = await api.post_graphql("{ deals(first: ", token=token)
    assert broken.status_code == 400 and codes(broken.json()) == ["GRAPHQL_PARSE_FAILED"]
    assert broken.headers["content-type"].startswith("application/graphql-response+json")
    unknown = await api.post_graphql("{ deals { edges { node { nam } } } }", token=token)
    assert unknown.status_code == 400 and codes(unknown.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in unknown.text
    legacy = await api.http.post(
        "/graphql",
        json={"query": "{ deals { edges { node { nam } } } }"},
        headers={"Accept": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json")


async def test_get_serves_queries_and_refuses_mutations(api: ApiClient) -> None:
    headers = {"Authorization": f"Bearer {api.token('admin')}", "Accept": "application/graphql-response+json"}
    query = await api.http.get(
        "/graphql", params={"query": "{ accounts(first: 1) { totalCount } }"}, headers=headers
    )
    assert query.status_code == 200 and query.json()["data"]["accounts"]["totalCount"] > 0
    mutation = await api.http.get("/graphql", params={"query": "mutation { __typename }"}, headers=headers)
    assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"
    wrong_type = await api.http.post(
        "/graphql", content=b"{}", headers={**headers, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415


async def test_graphql_answers_get_and_post_only(api: ApiClient) -> None:
    headers = {"Authorization": f"Bearer {api.token('admin')}"}
    for method in ("PUT", "DELETE", "PATCH"):
        response = await api.http.request(method, "/graphql", content=b"{}", headers=headers)
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD, POST"


async def test_graphiql_for_browsers(api: ApiClient) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_first_is_capped_and_deep_or_costly_queries_are_refused(api: ApiClient) -> None:
    token = api.token("admin")
    huge = await api.post_graphql("{ deals(first: 100000) { totalCount } }", token=token)
    body = huge.json()
    assert huge.status_code == 200 and body["data"]["deals"] is None
    assert codes(body) == ["BAD_USER_INPUT"] and "first" in body["errors"][0]["message"]
    nested = "{ id " + "knows { nodes { id " * 12 + "} } " * 12 + "}"
    deep = await api.post_graphql(f"{{ customers {{ nodes {nested} }} }}", token=token)
    assert deep.status_code == 400 and codes(deep.json()) == ["QUERY_TOO_COMPLEX"]
    assert "depth" in deep.json()["errors"][0]["message"]
    costly = await api.post_graphql(
        "{ customers(first: 500) { nodes { knows(first: 500) { nodes { id } } } } }", token=token
    )
    assert costly.status_code == 400 and "cost" in costly.json()["errors"][0]["message"]


async def test_a_bad_cursor_names_the_argument(api: ApiClient) -> None:
    response = await api.post_graphql('{ deals(after: "bm9wZQ") { totalCount } }', token=api.token("admin"))
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "deals.after"}


async def test_sales_reps_see_only_the_deals_they_own(api: ApiClient) -> None:
    rows = await api.store.read(
        "MATCH (u:User {role: 'sales'})-[:OWNS]->(d:Deal) RETURN u.id AS user, collect(d.id) AS deals "
        "ORDER BY size(deals) DESC, user LIMIT 1"
    )
    rep, own = rows[0]["user"], sorted(f"Deal:{d}" for d in rows[0]["deals"])
    token = api.token("sales", user_id=rep)
    body = (await api.post_graphql(DEALS, token=token)).json()
    assert sorted(e["node"]["id"] for e in body["data"]["deals"]["edges"]) == own
    assert body["data"]["deals"]["totalCount"] == len(own)
    others = await api.store.read(
        "MATCH (d:Deal) WHERE NOT (:User {id: $rep})-[:OWNS]->(d) RETURN d.id AS id LIMIT 1", {"rep": rep}
    )
    other = others[0]["id"]
    hidden = (
        await api.post_graphql(
            "query($id: ID!) { deal(id: $id) { id } }", {"id": f"Deal:{other}"}, token=token
        )
    ).json()
    assert hidden == {"data": {"deal": None}}
    # Nested connections and aggregates follow the same rule.
    accounts = (
        await api.post_graphql("{ accounts(first: 100) { nodes { deals { totalCount } } } }", token=token)
    ).json()
    assert sum(n["deals"]["totalCount"] for n in accounts["data"]["accounts"]["nodes"]) == len(own)
    admin = (await api.post_graphql(DEALS, token=api.token("admin"))).json()
    assert admin["data"]["deals"]["totalCount"] > len(own)


async def test_support_sees_tickets_assigned_to_them_or_their_team(api: ApiClient) -> None:
    rows = await api.store.read("MATCH (u:User {role: 'support'}) RETURN u.id AS id ORDER BY id LIMIT 1")
    agent = rows[0]["id"]
    visible = await api.store.read(
        "MATCH (t:Ticket) WHERE (t)-[:ASSIGNED_TO]->(:User {id: $u}) "
        "OR (t)-[:ASSIGNED_TO]->(:Team)<-[:MEMBER_OF]-(:User {id: $u}) RETURN count(DISTINCT t) AS c",
        {"u": agent},
    )
    body = (
        await api.post_graphql("{ tickets { totalCount } }", token=api.token("support", user_id=agent))
    ).json()
    assert body["data"]["tickets"]["totalCount"] == visible[0]["c"]
    everyone = (await api.post_graphql("{ tickets { totalCount } }", token=api.token("viewer"))).json()
    assert everyone["data"]["tickets"]["totalCount"] >= visible[0]["c"]


async def test_aliases_and_tokens_are_limited(api: ApiClient) -> None:
    token = api.token("admin")
    aliases = " ".join(f"a{i}: __typename" for i in range(40))
    many = await api.post_graphql(f"{{ {aliases} }}", token=token)
    assert many.status_code == 400 and "aliases" in many.json()["errors"][0]["message"]
    long_document = "{ " + " ".join("__typename" for _ in range(6_000)) + " }"
    huge = await api.post_graphql(long_document, token=token)
    assert huge.status_code == 400 and codes(huge.json()) == ["GRAPHQL_PARSE_FAILED"]


async def test_introspection_can_be_switched_off(api: ApiClient) -> None:
    settings = api.settings.model_copy(update={"graphql_introspection": False, "graphiql": False})
    async with serving(create_app(settings, store=api.store)) as base_url:
        response = await api.http.post(
            f"{base_url}/graphql",
            json={"query": "{ __schema { types { name } } }"},
            headers={"Authorization": f"Bearer {api.token('admin')}", "Accept": GRAPHQL_RESPONSE},
        )
        page = await api.http.get(f"{base_url}/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 400 and "introspection is disabled" in response.text
    assert page.status_code != 200 or "graphiql" not in page.text.lower()


async def test_unexpected_errors_are_masked_and_logged_with_a_request_id(
    api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(create_app(api.settings, store=BrokenStore(api.store))) as base_url:  # type: ignore[arg-type]
        response = await api.http.post(
            f"{base_url}/graphql",
            json={"query": "{ deals { totalCount } }"},
            headers={"Authorization": f"Bearer {api.token('admin')}"},
        )
    error = response.json()["errors"][0]
    assert response.status_code == 500 and "secret internals" not in response.text
    request_id = error["extensions"]["requestId"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR" and request_id in error["message"]
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None


class BrokenStore(CountingStore):
    """A store whose GraphQL reads fail the way a bug would."""

    async def read(
        self, cypher: str, params: Params | None = None, *, timeout: float | None = None
    ) -> list[Record]:
        if "_CustomField" in cypher:
            return await super().read(cypher, params, timeout=timeout)
        raise RuntimeError("secret internals")


async def test_managers_see_the_deals_their_teams_own(api: ApiClient) -> None:
    rows = await api.store.read(
        "MATCH (m:User {role: 'manager'})-[:MEMBER_OF]->(:Team)<-[:MEMBER_OF]-(:User)-[:OWNS]->(d:Deal) "
        "RETURN m.id AS manager, count(DISTINCT d) AS deals ORDER BY deals DESC, manager LIMIT 1"
    )
    manager, expected = rows[0]["manager"], rows[0]["deals"]
    token = api.token("manager", user_id=manager)
    body = (await api.post_graphql("{ deals { totalCount } }", token=token)).json()
    assert 0 < body["data"]["deals"]["totalCount"] == expected
