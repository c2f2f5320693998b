"""Authentication over HTTP: password login, and refusals as endpoints answer them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rapport.auth.actor import Role
from rapport.auth.authenticator import Authenticator
from rapport.auth.http import EXCEPTION_HANDLERS, require_actor, require_role
from rapport.auth.staff import StaffAccounts
from rapport.schema.validation import Schema
from tests.api_client import ApiClient
from tests.http_server import serving

PASSWORD = "a long enough password"


async def test_a_staff_user_logs_in_with_email_and_password(api: ApiClient) -> None:
    (demo_user,) = await api.store.read(
        "MATCH (u:User {role: 'sales'}) RETURN u.id AS id, u.email AS email LIMIT 1"
    )
    await StaffAccounts(api.store, Schema()).add(demo_user["email"], "ignored", "ignored", PASSWORD)

    response = await api.http.post("/auth/token", json={"email": demo_user["email"], "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", api.settings.token_ttl)
    authenticator = await Authenticator.from_settings(api.settings, api.store)
    actor = await authenticator.authenticate({"Authorization": f"Bearer {body['access_token']}"})
    assert (actor.role, actor.user_id) == (Role.SALES, demo_user["id"])


async def test_a_failed_login_is_a_401_that_names_no_account(api: ApiClient) -> None:
    response = await api.http.post("/auth/token", json={"email": "nobody@example.com", "password": PASSWORD})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="rapport", error="invalid_token"'
    assert response.json() == {
        "errors": [{"message": "wrong email or password", "extensions": {"code": "UNAUTHENTICATED"}}]
    }
    malformed = await api.http.post("/auth/token", content=b"email=x")
    assert malformed.status_code == 400


@pytest_asyncio.fixture(scope="module")
async def guarded(api: ApiClient) -> AsyncIterator[httpx.AsyncClient]:
    """An app with one endpoint for any caller and one for admins, on the API's authenticator."""

    async def me(request: Request) -> JSONResponse:
        actor = await require_actor(request)
        return JSONResponse({"subject": actor.subject, "role": actor.role.value})

    async def admin_only(request: Request) -> JSONResponse:
        actor = await require_role(request, Role.ADMIN)
        return JSONResponse({"subject": actor.subject})

    app = Starlette(
        routes=[Route("/me", me), Route("/admin", admin_only)], exception_handlers=EXCEPTION_HANDLERS
    )
    app.state.rapport = SimpleNamespace(
        authenticator=await Authenticator.from_settings(api.settings, api.store)
    )
    async with serving(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        yield http


async def test_require_actor_answers_401_with_a_bearer_challenge(
    api: ApiClient, guarded: httpx.AsyncClient
) -> None:
    missing = await guarded.get("/me")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="rapport"'
    assert missing.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}

    bad = await guarded.get("/me", headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401 and bad.json()["errors"][0]["message"] == "malformed bearer token"

    ok = await guarded.get("/me", headers={"Authorization": f"Bearer {api.token('support')}"})
    assert ok.json() == {"subject": "test:support", "role": "support"}


async def test_require_role_answers_403_to_other_roles(api: ApiClient, guarded: httpx.AsyncClient) -> None:
    viewer = await guarded.get("/admin", headers={"Authorization": f"Bearer {api.token('viewer')}"})
    assert viewer.status_code == 403
    assert viewer.json() == {
        "errors": [{"message": "the viewer role may not do this", "extensions": {"code": "FORBIDDEN"}}]
    }
    admin = await guarded.get("/admin", headers={"Authorization": f"Bearer {api.token('admin', 'u1')}"})
    assert admin.json() == {"subject": "user:u1"}
