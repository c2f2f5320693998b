"""API keys for service accounts, kept as ``_ApiKey`` nodes (outside the CRM model).

A key reads ``rpk_<lookup>_<secret>``: the ``rpk_`` prefix tells it from a JWT,
``lookup`` (12 hex digits, stored in clear and unique) finds its node, and the
secret carries 256 random bits. Only a SHA-256 digest of the whole key is
stored: a slow password hash buys nothing against a 256-bit random secret,
while every request verifies a key, so the check must be cheap. The key
itself is shown once, when created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from rapport.auth.actor import Actor, Role
from rapport.auth.errors import AuthError, Unauthenticated
from rapport.graph.records import new_id
from rapport.graph.types import GraphStore
from rapport.graph.values import now_millis

PREFIX = "rpk_"
_LOOKUP_BYTES = 6
_SECRET_BYTES = 32
_MAX_NAME = 200
_TOUCH_EVERY_MS = 60_000  # lastUsedAt is written at most once a minute per key

_CREATE = """
CREATE (k:_ApiKey {id: $id, name: $name, role: $role, lookup: $lookup, hash: $hash,
                   createdAt: $now, revoked: false})
"""
_FIND = """
MATCH (k:_ApiKey {lookup: $lookup})
RETURN k.id AS id, k.hash AS hash, k.role AS role, k.revoked AS revoked, k.lastUsedAt AS lastUsedAt
"""
_TOUCH = "MATCH (k:_ApiKey {id: $id}) SET k.lastUsedAt = $now"
_LIST = """
MATCH (k:_ApiKey)
RETURN k.id AS id, k.name AS name, k.role AS role, k.createdAt AS createdAt,
       k.lastUsedAt AS lastUsedAt, k.revoked AS revoked
ORDER BY k.createdAt, k.id
"""
_REVOKE = """
MATCH (k:_ApiKey {id: $id})
SET k.revoked = true, k.revokedAt = coalesce(k.revokedAt, $now)
RETURN k.name AS name
"""


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown about a key: never its secret or digest."""

    id: str
    name: str
    role: Role
    created_at: int
    last_used_at: int | None
    revoked: bool


def is_api_key(credential: str) -> bool:
    """Whether a bearer credential is an API key rather than a JWT."""
    return credential.startswith(PREFIX)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _lookup_of(key: str) -> str | None:
    lookup, sep, secret = key.removeprefix(PREFIX).partition("_")
    if not (is_api_key(key) and sep and secret and len(lookup) == 2 * _LOOKUP_BYTES):
        return None
    return lookup


class ApiKeys:
    """Creates, lists, revokes and verifies the API keys of one store."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store

    async def create(self, name: str, role: Role | str) -> tuple[ApiKeyInfo, str]:
        """A new key; return what may be shown about it and the key itself (shown once)."""
        name = name.strip()
        if not name or len(name) > _MAX_NAME:
            raise AuthError(f"an API key needs a name of 1 to {_MAX_NAME} characters")
        checked = _role(role)
        lookup = secrets.token_hex(_LOOKUP_BYTES)
        key = f"{PREFIX}{lookup}_{secrets.token_urlsafe(_SECRET_BYTES)}"
        info = ApiKeyInfo(new_id(), name, checked, now_millis(), None, revoked=False)
        await self._store.write(
            _CREATE,
            {"id": info.id, "name": name, "role": checked.value, "lookup": lookup,
             "hash": _digest(key), "now": info.created_at},
        )  # fmt: skip
        return info, key

    async def list(self) -> list[ApiKeyInfo]:
        """Every key, revoked ones included, oldest first."""
        rows = await self._store.read(_LIST)
        return [
            ApiKeyInfo(
                r["id"], r["name"], Role(r["role"]), r["createdAt"], r["lastUsedAt"], revoked=r["revoked"]
            )
            for r in rows
        ]

    async def revoke(self, key_id: str) -> str:
        """Revoke the key with id ``key_id`` (for good); return its name."""
        rows = await self._store.write(_REVOKE, {"id": key_id, "now": now_millis()})
        if not rows:
            raise AuthError(f"no API key has id {key_id!r} (see `rapport apikey list`)")
        name: str = rows[0]["name"]
        return name

    async def verify(self, key: str) -> Actor:
        """The service account a key stands for; :class:`Unauthenticated` if unknown or revoked."""
        lookup = _lookup_of(key)
        if lookup is None:
            raise Unauthenticated("malformed API key")
        rows = await self._store.read(_FIND, {"lookup": lookup})
        if not rows or not hmac.compare_digest(rows[0]["hash"], _digest(key)):
            raise Unauthenticated("unknown API key")
        row = rows[0]
        if row["revoked"]:
            raise Unauthenticated("API key revoked")
        now = now_millis()
        if row["lastUsedAt"] is None or now - row["lastUsedAt"] >= _TOUCH_EVERY_MS:
            await self._store.write(_TOUCH, {"id": row["id"], "now": now})
        return Actor(subject=f"apikey:{row['id']}", role=Role(row["role"]))


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AuthError(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from None
