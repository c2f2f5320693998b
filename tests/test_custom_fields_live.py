"""Custom fields declared or dropped while the server runs (by ``rapport fields declare`` or any
other process) reach its GraphQL API through the event stream, without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from rapport.graph.types import GraphStore
from rapport.migrations.runner import MigrationRunner
from rapport.schema.custom_fields import CustomFields
from tests.live_api import LiveApi, connect, live_api, next_change, subscribe

CREATE = 'mutation { createAccount(fields: {name: "Watched", renewalRisk: high}) { record { renewalRisk } } }'


async def answer_once(live: LiveApi, query: str, *, valid: bool) -> dict[str, Any]:
    """The server's answer to ``query`` once it finds the query valid (or, with ``valid=False``,
    invalid) for its schema; an invalid query writes nothing."""
    headers = {"Authorization": f"Bearer {live.token('admin')}"}
    async with httpx.AsyncClient(base_url=live.base_url, headers=headers) as http, asyncio.timeout(60):
        while True:
            body: dict[str, Any] = (await http.post("/graphql", json={"query": query})).json()
            if ("errors" not in body) == valid:
                return body
            await asyncio.sleep(0.2)


async def test_a_field_declared_while_the_server_runs_is_served_and_gone_once_dropped(
    store: GraphStore, redis_url: str, tmp_path: Path
) -> None:
    await MigrationRunner(store).migrate()
    registry = CustomFields(store)
    await registry.load()
    async with (
        live_api(store, redis_url, tmp_path) as live,
        await connect(live, live.token("viewer")) as frontend,
    ):
        await subscribe(frontend, {"labels": ["_CustomField"]})
        assert "errors" in await answer_once(live, CREATE, valid=False)  # not declared yet
        await registry.declare("Account", "renewalRisk", "enum", choices=("low", "high"))
        created = await answer_once(live, CREATE, valid=True)
        assert created["data"] == {"createAccount": {"record": {"renewalRisk": "high"}}}
        declared = await next_change(frontend)
        assert (declared["type"], declared["ids"]) == ("created", ["_CustomField:Account.renewalRisk"])

        await registry.drop("Account", "renewalRisk")
        refused = await answer_once(live, "{ accounts { nodes { renewalRisk } } }", valid=False)
        assert "renewalRisk" in refused["errors"][0]["message"]
    rows = await store.read("MATCH (a:Account) RETURN a.name AS name, a.renewalRisk AS risk")
    assert rows == [{"name": "Watched", "risk": "high"}]  # written once, while declared
