"""Custom fields declared at runtime appear in the GraphQL API, typed as declared:
readable, filterable, sortable, writable, and checked by their rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from rapport.app import create_app
from rapport.schema.custom_fields import CustomFields
from tests.api_client import ApiClient
from tests.http_server import serving


@pytest_asyncio.fixture(scope="module")
async def custom_api(api: ApiClient) -> AsyncIterator[ApiClient]:
    """The API restarted after declaring ``Account.netPromoterScore`` and ``Account.plan``."""
    registry = CustomFields(api.store)
    await registry.load()
    await registry.declare("Account", "netPromoterScore", "integer", minimum=-100, maximum=100)
    await registry.declare("Account", "plan", "enum", choices=("free", "team", "enterprise"))
    async with (
        serving(create_app(api.settings, store=api.store)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        yield ApiClient(http, api.store, api.settings)


async def test_custom_fields_are_typed_writable_and_filterable(custom_api: ApiClient) -> None:
    token = custom_api.token("admin")
    created = await custom_api.post_graphql(
        """mutation { a: createAccount(fields: {name: "Promoter", netPromoterScore: 72, plan: enterprise}) {
                        record { netPromoterScore plan } userErrors { code } }
                      b: createAccount(fields: {name: "Detractor", netPromoterScore: -40, plan: free}) {
                        record { id } userErrors { code } } }""",
        token=token,
    )
    assert created.json()["data"]["a"] == {
        "record": {"netPromoterScore": 72, "plan": "enterprise"},
        "userErrors": [],
    }
    found = await custom_api.post_graphql(
        """{ accounts(where: {netPromoterScore: {gte: 0}, plan: {in: [enterprise, team]}},
                      orderBy: [{field: netPromoterScore, direction: DESC}]) {
               nodes { name netPromoterScore } aggregate { max { netPromoterScore } } } }""",
        token=token,
    )
    accounts = found.json()["data"]["accounts"]
    assert accounts["nodes"] == [{"name": "Promoter", "netPromoterScore": 72}]
    assert accounts["aggregate"]["max"]["netPromoterScore"] == 72


async def test_custom_field_rules_answer_in_user_errors_and_types_in_validation(
    custom_api: ApiClient,
) -> None:
    token = custom_api.token("admin")
    out_of_range = await custom_api.post_graphql(
        'mutation { createAccount(fields: {name: "Too happy", netPromoterScore: 101}) '
        "{ record { id } userErrors { field code } } }",
        token=token,
    )
    assert out_of_range.json()["data"]["createAccount"]["userErrors"] == [
        {"field": "createAccount.fields.netPromoterScore", "code": "MAXIMUM"}
    ]
    wrong_type = await custom_api.post_graphql(
        'mutation { createAccount(fields: {name: "Typed", plan: "gold"}) { record { id } } }', token=token
    )
    assert wrong_type.status_code == 400
