"""Passwords, staff logins, API keys, the signing secret, and headers turned into actors.

Everything that touches the graph runs on both backends.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import SecretStr

from rapport.auth.actor import Role
from rapport.auth.api_keys import ApiKeys
from rapport.auth.authenticator import Authenticator
from rapport.auth.errors import AuthError, Unauthenticated
from rapport.auth.passwords import hash_password, needs_rehash, verify_password
from rapport.auth.secret import signing_secret
from rapport.auth.staff import StaffAccounts
from rapport.auth.tokens import TokenIssuer
from rapport.config import ConfigError, Settings, load_settings
from rapport.graph.errors import ConstraintViolation
from rapport.graph.types import GraphStore
from rapport.migrations.runner import MigrationRunner
from rapport.schema.errors import SchemaViolation
from rapport.schema.validation import Schema

SECRET = "credentials-tests-secret-of-32-chars-or-more"


@pytest_asyncio.fixture
async def migrated(store: GraphStore) -> AsyncIterator[GraphStore]:
    """An emptied store of each backend with Rapport's migrations applied."""
    await MigrationRunner(store).migrate()
    yield store


@pytest_asyncio.fixture
async def authenticator(migrated: GraphStore, tmp_path: Path) -> Authenticator:
    settings = Settings(data_dir=tmp_path, falkordb_url="redis://unused", jwt_secret=SecretStr(SECRET))
    return await Authenticator.from_settings(settings, migrated)


# -- passwords ----------------------------------------------------------------------------


def test_passwords_are_stored_as_salted_argon2id_hashes() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, "correct horse battery")
    assert not verify_password(first, "correct horse battery!")
    assert not verify_password("not a hash", "correct horse battery")
    assert not needs_rehash(first)


def test_short_passwords_are_refused() -> None:
    with pytest.raises(AuthError, match="at least 12 characters"):
        hash_password("tooshort")


# -- staff accounts -----------------------------------------------------------------------


async def test_adding_a_user_creates_the_user_and_its_credential(migrated: GraphStore) -> None:
    staff = StaffAccounts(migrated, Schema())
    added = await staff.add("Ada@Example.COM", "Ada Lovelace", "analyst", "correct horse battery")
    assert added.created and added.password_set
    assert added.user.email == "Ada@example.com"  # as the model normalises emails
    users = await migrated.read("MATCH (u:User) RETURN u.name AS name, u.role AS role, u.version AS version")
    assert users == [{"name": "Ada Lovelace", "role": "analyst", "version": 1}]
    credential = await migrated.read("MATCH (c:_Credential) RETURN c.email AS email, c.userId AS userId")
    assert credential == [{"email": "Ada@example.com", "userId": added.user.id}]

    user = await staff.login("Ada@example.com", "correct horse battery")
    assert (user.id, user.role, user.name) == (added.user.id, Role.ANALYST, "Ada Lovelace")


async def test_a_password_attaches_to_an_existing_user_who_keeps_name_and_role(migrated: GraphStore) -> None:
    staff = StaffAccounts(migrated, Schema())
    existing = await staff.add("grace@example.com", "Grace Hopper", "manager", None)
    assert existing.created and not existing.password_set
    with pytest.raises(Unauthenticated):
        await staff.login("grace@example.com", "")

    attached = await staff.add("grace@example.com", "Someone Else", "viewer", "a long enough password")
    assert not attached.created and attached.user == existing.user
    assert (await staff.login("grace@example.com", "a long enough password")).role is Role.MANAGER
    assert await migrated.read("MATCH (u:User) RETURN count(u) AS n") == [{"n": 1}]


async def test_logins_fail_alike_for_wrong_passwords_unknown_emails_and_inactive_users(
    migrated: GraphStore,
) -> None:
    staff = StaffAccounts(migrated, Schema())
    added = await staff.add("alan@example.com", "Alan Turing", "sales", "a long enough password")
    attempts = [("alan@example.com", "wrong password!!"), ("nobody@example.com", "a long enough password"),
                ("not an email", "a long enough password")]  # fmt: skip
    await migrated.write("MATCH (u:User {id: $id}) SET u.active = false", {"id": added.user.id})
    attempts.append(("alan@example.com", "a long enough password"))
    for email, password in attempts:
        with pytest.raises(Unauthenticated, match=r"^wrong email or password$"):
            await staff.login(email, password)


async def test_bad_user_input_writes_nothing(migrated: GraphStore) -> None:
    staff = StaffAccounts(migrated, Schema())
    with pytest.raises(SchemaViolation, match=r"User\.email"):
        await staff.add("not-an-email", "X", "sales", "a long enough password")
    with pytest.raises(SchemaViolation, match=r"User\.role"):
        await staff.add("x@example.com", "X", "overlord", "a long enough password")
    with pytest.raises(AuthError, match="at least 12"):
        await staff.add("x@example.com", "X", "sales", "short")
    assert await migrated.read("MATCH (n) WHERE n:User OR n:_Credential RETURN count(n) AS n") == [{"n": 0}]


async def test_one_credential_per_email(migrated: GraphStore) -> None:
    with pytest.raises(ConstraintViolation):
        await migrated.write("UNWIND [1, 2] AS i CREATE (:_Credential {email: 'same@example.com'})")


# -- API keys -----------------------------------------------------------------------------


async def test_an_api_key_is_shown_once_stored_hashed_and_verifies(migrated: GraphStore) -> None:
    keys = ApiKeys(migrated)
    info, key = await keys.create("nightly export", "analyst")
    assert key.startswith("rpk_") and len(key) > 50
    stored = await migrated.read("MATCH (k:_ApiKey) RETURN properties(k) AS k")
    assert key not in str(stored) and stored[0]["k"]["hash"] != key

    actor = await keys.verify(key)
    assert (actor.subject, actor.role, actor.user_id) == (f"apikey:{info.id}", Role.ANALYST, None)
    (listed,) = await keys.list()
    assert (listed.id, listed.name, listed.role, listed.revoked) == (
        info.id,
        "nightly export",
        Role.ANALYST,
        False,
    )
    assert listed.last_used_at is not None


async def test_a_revoked_api_key_is_refused(migrated: GraphStore) -> None:
    keys = ApiKeys(migrated)
    info, key = await keys.create("old integration", "viewer")
    assert await keys.revoke(info.id) == "old integration"
    with pytest.raises(Unauthenticated, match="API key revoked"):
        await keys.verify(key)
    assert [k.revoked for k in await keys.list()] == [True]
    with pytest.raises(AuthError, match="no API key has id 'nope'"):
        await keys.revoke("nope")


async def test_unknown_and_tampered_api_keys_are_refused(migrated: GraphStore) -> None:
    keys = ApiKeys(migrated)
    _, key = await keys.create("svc", "sales")
    lookup, _, secret = key.removeprefix("rpk_").partition("_")
    for bad, reason in [
        (f"rpk_{lookup}_{'x' * len(secret)}", "unknown API key"),  # right lookup, wrong secret
        (f"rpk_{'0' * len(lookup)}_{secret}", "unknown API key"),
        ("rpk_short", "malformed API key"),
    ]:
        with pytest.raises(Unauthenticated, match=reason):
            await keys.verify(bad)
    with pytest.raises(AuthError, match="unknown role 'root'"):
        await keys.create("svc", "root")


# -- headers to actors --------------------------------------------------------------------


async def test_headers_carry_a_token_or_an_api_key(authenticator: Authenticator) -> None:
    token = TokenIssuer(SECRET, 60).issue(subject="user:u9", role=Role.SUPPORT, user_id="u9")
    _, key = await authenticator.api_keys.create("svc", "marketing")

    assert (await authenticator.authenticate({"Authorization": f"Bearer {token}"})).user_id == "u9"
    assert (await authenticator.authenticate({"authorization": f"bearer {key}"})).role is Role.MARKETING
    assert (await authenticator.authenticate({"X-API-Key": key})).role is Role.MARKETING


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "authentication required"),
        ({"Authorization": "Basic bmVvNGo6c2VjcmV0"}, "must read 'Bearer <token or API key>'"),
        ({"Authorization": "Bearer"}, "must read 'Bearer <token or API key>'"),
        ({"Authorization": "Bearer x.y.z", "X-API-Key": "rpk_x"}, "not both"),
        ({"X-API-Key": "some-key"}, "malformed API key"),
    ],
)
async def test_missing_or_malformed_credentials_are_refused(
    authenticator: Authenticator, headers: dict[str, str], reason: str
) -> None:
    with pytest.raises(Unauthenticated, match=reason) as refused:
        await authenticator.authenticate(headers)
    assert refused.value.missing == (not headers)


async def test_password_login_issues_a_token_with_the_users_role(authenticator: Authenticator) -> None:
    added = await authenticator.staff.add("kay@example.com", "Kay", "support", "a long enough password")
    token, ttl = await authenticator.login("kay@example.com", "a long enough password")
    actor = await authenticator.authenticate({"Authorization": f"Bearer {token}"})
    assert (actor.subject, actor.role, actor.user_id, ttl) == (f"user:{added.user.id}", Role.SUPPORT,
                                                               added.user.id, 8 * 3600)  # fmt: skip


# -- the signing secret -------------------------------------------------------------------


def test_the_embedded_default_generates_its_secret_once_readable_by_the_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, neo4j_uri=None, falkordb_url=None)
    secret = signing_secret(settings)
    assert secret is not None and len(secret) >= 32
    assert stat.S_IMODE((tmp_path / "jwt-secret").stat().st_mode) == 0o600
    assert signing_secret(settings) == secret
    assert os.listdir(tmp_path) == ["jwt-secret"]

    (tmp_path / "jwt-secret").chmod(0o644)
    with pytest.raises(ConfigError, match="must be readable by its owner only"):
        signing_secret(settings)


async def test_outside_the_embedded_default_a_secret_or_jwks_url_is_required(
    tmp_path: Path, session_store: GraphStore
) -> None:
    settings = Settings(data_dir=tmp_path, falkordb_url="redis://elsewhere:6379")
    assert signing_secret(settings) is None
    with pytest.raises(ConfigError, match=r"^RAPPORT_JWT_SECRET: not set"):
        await Authenticator.from_settings(settings, session_store)
    with pytest.raises(ConfigError, match=r"^RAPPORT_JWT_SECRET: not set"):
        TokenIssuer.from_settings(settings)
    oidc_only = settings.model_copy(update={"jwks_url": "https://idp.example/jwks"})
    assert (await Authenticator.from_settings(oidc_only, session_store)).issuer is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RAPPORT_JWT_SECRET", "short", "RAPPORT_JWT_SECRET: Value error, must be at least 32 characters"),
        ("RAPPORT_JWKS_URL", "ftp://idp/jwks", "RAPPORT_JWKS_URL: Value error, must be an https://"),
        ("RAPPORT_TOKEN_TTL", "0", "RAPPORT_TOKEN_TTL: Input should be greater than 0"),
        ("RAPPORT_CYPHER_MAX_ROWS", "none", "RAPPORT_CYPHER_MAX_ROWS: Input should be a valid integer"),
    ],
)
def test_bad_auth_settings_are_one_readable_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
