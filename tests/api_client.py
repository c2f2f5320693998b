"""A small client for API tests: GraphQL over HTTP against the served application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from rapport.auth.actor import Role
from rapport.auth.tokens import TokenIssuer
from rapport.config import Settings
from rapport.graph.types import GraphStore


@dataclass
class ApiClient:
    """The served app's HTTP client, the store behind it and the settings it runs with."""

    http: httpx.AsyncClient
    store: GraphStore
    settings: Settings

    def token(self, role: str, user_id: str | None = None) -> str:
        """A bearer token the served app accepts, for ``role`` (and the staff User ``user_id``)."""
        issuer = TokenIssuer.from_settings(self.settings)
        subject = f"user:{user_id}" if user_id else f"test:{role}"
        return issuer.issue(subject=subject, role=Role(role), user_id=user_id)

    async def post_graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        """POST a GraphQL request as JSON; return the raw response."""
        headers = {"Accept": "application/graphql-response+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
