"""The analysts' Cypher endpoint over real HTTP, answering as Neo4j's Query API v2 does."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from rapport.api.audit import CypherAuditLog
from rapport.api.cypher_endpoint import TRUNCATED, database_name
from rapport.app import create_app
from rapport.auth.api_keys import ApiKeys
from tests.api_client import ApiClient
from tests.http_server import serving

SLOW = "UNWIND range(1, 10000) AS x UNWIND range(1, 10000) AS y RETURN count(*) AS pairs"
"""About 5 s on Neo4j and 15 s on FalkorDB: far past the tight server's timeout."""


async def query(
    api: ApiClient,
    statement: str,
    parameters: dict[str, Any] | None = None,
    *,
    role: str | None = "analyst",
    database: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> httpx.Response:
    """POST a statement as the Query API expects it, with a token for ``role`` (none if ``None``)."""
    headers = {"Authorization": f"Bearer {api.token(role)}"} if role else {}
    body = {"statement": statement, "parameters": parameters or {}}
    path = f"/db/{database or database_name(api.settings)}/query/v2"
    return await (http or api.http).post(path, json=body, headers=headers)


def error_of(response: httpx.Response) -> tuple[int, str]:
    (error,) = response.json()["errors"]
    assert error["message"]
    return response.status_code, error["code"]


@pytest_asyncio.fixture(scope="module")
async def tight(api: ApiClient) -> AsyncIterator[httpx.AsyncClient]:
    """The same application and data with a 0.3 s query timeout and a 5-row cap."""
    settings = api.settings.model_copy(update={"cypher_timeout": 0.3, "cypher_max_rows": 5})
    async with (
        serving(create_app(settings, store=api.store)) as base_url,
        httpx.AsyncClient(base_url=base_url) as http,
    ):
        yield http


# -- results ------------------------------------------------------------------------------


async def test_a_read_with_parameters_returns_scalars_nodes_and_relationships(api: ApiClient) -> None:
    response = await query(
        api,
        "MATCH (u:User)-[r:MEMBER_OF]->(t:Team) WHERE u.role = $role "
        "RETURN u.name AS name, u, r, t, $n + 1 AS next ORDER BY name LIMIT 2",
        {"role": "manager", "n": 41},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["bookmarks"] == [] and "notifications" not in body
    assert body["data"]["fields"] == ["name", "u", "r", "t", "next"]
    expected = await api.store.read(
        "MATCH (u:User {role: 'manager'})-[:MEMBER_OF]->(:Team) RETURN u.name AS name ORDER BY name LIMIT 2"
    )
    rows = body["data"]["values"]
    assert [row[0] for row in rows] == [e["name"] for e in expected] and len(rows) == 2
    name, user, member_of, team, following = rows[0]
    assert following == 42
    assert set(user) == {"elementId", "labels", "properties"} and isinstance(user["elementId"], str)
    assert user["labels"] == ["User"]
    assert user["properties"]["name"] == name and user["properties"]["role"] == "manager"
    assert member_of == {
        "elementId": member_of["elementId"],
        "startNodeElementId": user["elementId"],
        "endNodeElementId": team["elementId"],
        "type": "MEMBER_OF",
        "properties": member_of["properties"],
    }
    assert team["labels"] == ["Team"]


async def test_a_path_is_its_nodes_and_relationships_in_order(api: ApiClient) -> None:
    response = await query(api, "MATCH p = (:User)-[:MEMBER_OF]->(:Team) RETURN p LIMIT 1")
    ((path,),) = response.json()["data"]["values"]
    start, step, end = path
    assert (start["labels"], step["type"], end["labels"]) == (["User"], "MEMBER_OF", ["Team"])
    assert (step["startNodeElementId"], step["endNodeElementId"]) == (start["elementId"], end["elementId"])


async def test_fields_are_named_even_without_rows(api: ApiClient) -> None:
    response = await query(
        api, "MATCH (u:User {email: $email}) RETURN u.name AS name, u", {"email": "nobody@x"}
    )
    assert response.status_code == 202
    assert response.json()["data"] == {"fields": ["name", "u"], "values": []}


# -- who may ask --------------------------------------------------------------------------


async def test_analysts_and_admins_may_query(api: ApiClient) -> None:
    for role in ("analyst", "admin"):
        response = await query(api, "RETURN 1 AS one", role=role)
        assert (response.status_code, response.json()["data"]["values"]) == (202, [[1]])


@pytest.mark.parametrize("role", ["viewer", "sales", "manager", "support", "marketing"])
async def test_other_roles_are_forbidden_and_see_nothing(api: ApiClient, role: str) -> None:
    response = await query(api, "MATCH (u:User) RETURN u.email AS email", role=role)
    assert error_of(response) == (403, "Neo.ClientError.Security.Forbidden")
    assert "data" not in response.json() and "@" not in response.text


async def test_no_or_bad_credentials_are_401(api: ApiClient) -> None:
    response = await query(api, "RETURN 1 AS one", role=None)
    assert error_of(response) == (401, "Neo.ClientError.Security.Unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="rapport"'
    path = f"/db/{database_name(api.settings)}/query/v2"
    expired = await api.http.post(
        path, json={"statement": "RETURN 1"}, headers={"Authorization": "Bearer x.y.z"}
    )
    assert error_of(expired) == (401, "Neo.ClientError.Security.Unauthorized")


async def test_a_service_account_queries_with_an_api_key(api: ApiClient) -> None:
    _, key = await ApiKeys(api.store).create("notebook", "analyst")
    path = f"/db/{database_name(api.settings)}/query/v2"
    response = await api.http.post(path, json={"statement": "RETURN 2 AS two"}, headers={"X-API-Key": key})
    assert (response.status_code, response.json()["data"]["values"]) == (202, [[2]])


# -- what may not be done -----------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE (a:Account {name: 'Injected'}) RETURN a",
        "MATCH (u:User) SET u.name = 'Injected' RETURN count(u) AS n",
        "MATCH (u:User) WITH u LIMIT 1 DETACH DELETE u",
    ],
)
async def test_writes_are_refused_by_the_database_and_nothing_is_written(
    api: ApiClient, statement: str
) -> None:
    before = await api.store.read("MATCH (n) RETURN count(n) AS nodes, sum(size(keys(n))) AS properties")
    response = await query(api, statement)
    assert error_of(response) == (400, "Neo.ClientError.Statement.AccessMode")
    assert (
        await api.store.read("MATCH (n) RETURN count(n) AS nodes, sum(size(keys(n))) AS properties") == before
    )
    assert await api.store.read("MATCH (n {name: 'Injected'}) RETURN count(n) AS n") == [{"n": 0}]


async def test_another_database_is_404(api: ApiClient) -> None:
    response = await query(api, "RETURN 1 AS one", database="system")
    assert error_of(response) == (404, "Neo.ClientError.Database.DatabaseNotFound")


@pytest.mark.parametrize(
    ("statement", "parameters", "code"),
    [
        ("RETRN 1", {}, "Neo.ClientError.Statement.SyntaxError"),
        ("MATCH (n) RETURN m", {}, "Neo.ClientError.Statement.SyntaxError"),
        ("RETURN $missing AS m", {}, "Neo.ClientError.Statement.ParameterMissing"),
        ("RETURN 1 / $zero AS x", {"zero": 0}, "Neo.ClientError.Statement.ArithmeticError"),
    ],
)
async def test_bad_statements_are_400_with_neo4js_code(
    api: ApiClient, statement: str, parameters: dict[str, Any], code: str
) -> None:
    assert error_of(await query(api, statement, parameters)) == (400, code)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"parameters": {}}',
        b'{"statement": "  "}',
        b'{"statement": "RETURN 1", "parameters": 1}',
    ],
)
async def test_malformed_requests_are_400(api: ApiClient, body: bytes) -> None:
    path = f"/db/{database_name(api.settings)}/query/v2"
    headers = {"Authorization": f"Bearer {api.token('analyst')}", "Content-Type": "application/json"}
    response = await api.http.post(path, content=body, headers=headers)
    assert error_of(response) == (400, "Neo.ClientError.Request.Invalid")


# -- limits -------------------------------------------------------------------------------


async def test_results_past_the_row_cap_are_cut_with_a_notification(
    api: ApiClient, tight: httpx.AsyncClient
) -> None:
    response = await query(api, "UNWIND range(1, 50) AS n RETURN n", http=tight)
    body = response.json()
    assert response.status_code == 202 and body["data"]["values"] == [[1], [2], [3], [4], [5]]
    (notification,) = body["notifications"]
    assert (notification["code"], notification["severity"]) == (TRUNCATED, "WARNING")
    assert "first 5 rows" in notification["description"]

    exactly = (await query(api, "UNWIND range(1, 5) AS n RETURN n", http=tight)).json()
    assert len(exactly["data"]["values"]) == 5 and "notifications" not in exactly


async def test_a_long_query_is_stopped_at_the_timeout(api: ApiClient, tight: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await query(api, SLOW, http=tight)
    assert error_of(response) == (400, "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration")
    assert time.monotonic() - started < 3


# -- the audit trail ----------------------------------------------------------------------


def audit_entries(api: ApiClient, marker: str) -> list[dict[str, Any]]:
    path = CypherAuditLog.for_settings(api.settings).path
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [e for e in entries if marker in (e["statement"] or "") or marker in e["subject"]]


async def test_every_query_is_audited_without_parameter_values(api: ApiClient) -> None:
    marker = f"audit-{uuid.uuid4()}"
    statement = f"UNWIND range(1, 3) AS n RETURN n, $secret AS s, '{marker}' AS marker"
    assert (await query(api, statement, {"secret": "hunter2-value", "unused": 1})).status_code == 202
    assert (await query(api, f"RETRN '{marker}'")).status_code == 400

    ok, failed = audit_entries(api, marker)
    assert ok["subject"] == "test:analyst" and ok["role"] == "analyst"
    assert (ok["statement"], ok["parameters"], ok["rows"], ok["outcome"]) == (
        statement, ["secret", "unused"], 3, "ok"
    )  # fmt: skip
    assert ok["database"] == database_name(api.settings) and ok["client"] == "127.0.0.1"
    assert ok["ms"] > 0 and ok["at"].endswith("+00:00") and ok["truncated"] is False
    assert (failed["outcome"], failed["rows"]) == ("Neo.ClientError.Statement.SyntaxError", 0)
    assert "hunter2-value" not in CypherAuditLog.for_settings(api.settings).path.read_text()


async def test_refused_callers_are_audited_too(api: ApiClient) -> None:
    marker = f"viewer-{uuid.uuid4()}"
    headers = {"Authorization": f"Bearer {api.token('viewer', marker)}"}
    path = f"/db/{database_name(api.settings)}/query/v2"
    await api.http.post(path, json={"statement": "MATCH (n) RETURN n"}, headers=headers)
    (entry,) = audit_entries(api, marker)
    assert (entry["subject"], entry["outcome"]) == (f"user:{marker}", "Neo.ClientError.Security.Forbidden")
