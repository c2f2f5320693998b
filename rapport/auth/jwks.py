"""Signing keys of an OIDC provider, fetched from its JWKS URL and cached.

Keys are kept by ``kid``. A token naming an unknown ``kid`` triggers a
refetch (the provider rotated its keys), at most once per
``refetch_interval`` so that tokens with made-up ids cannot make Rapport
hammer the provider; the whole set is also refetched after ``max_age``, so a
key the provider withdrew stops being trusted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

from rapport.auth.errors import Unauthenticated

_FETCH_TIMEOUT_S = 10.0


class JwksKeys:
    """The public keys published at ``url``, refreshed as described above."""

    def __init__(self, url: str, *, refetch_interval: float = 10.0, max_age: float = 3600.0) -> None:
        self.url = url
        self._refetch_interval = refetch_interval
        self._max_age = max_age
        self._keys: dict[str | None, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str | None) -> PyJWK:
        """The key a token's header names; raise :class:`Unauthenticated` if there is none."""
        if self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age:
            await self._refresh(force=True)
        if kid not in self._keys:
            await self._refresh(force=False)
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthenticated(f"token signed with an unknown key ({kid or 'no kid'})") from None

    async def _refresh(self, *, force: bool) -> None:
        fetched_at = self._fetched_at
        async with self._lock:
            if self._fetched_at != fetched_at:
                return  # another request refreshed while this one waited
            recent = fetched_at is not None and time.monotonic() - fetched_at < self._refetch_interval
            if recent and not force:
                return
            self._keys = _by_kid(await self._fetch())
            self._fetched_at = time.monotonic()
            self.fetches += 1

    async def _fetch(self) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=_FETCH_TIMEOUT_S) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
                response.raise_for_status()
                document: dict[str, Any] = response.json()
                return document
        except (httpx.HTTPError, ValueError) as error:
            raise Unauthenticated(f"signing keys unavailable from {self.url}: {error}") from None


def _by_kid(document: dict[str, Any]) -> dict[str | None, PyJWK]:
    """Usable signature keys by ``kid``; a lone key also answers tokens that name none."""
    try:
        keys = [k for k in PyJWKSet.from_dict(document).keys if k.public_key_use in (None, "sig")]
    except (PyJWKSetError, PyJWKError) as error:
        raise Unauthenticated(f"the JWKS document has no usable keys: {error}") from None
    by_kid: dict[str | None, PyJWK] = {k.key_id: k for k in keys}
    if len(keys) == 1:
        by_kid[None] = keys[0]
    return by_kid
