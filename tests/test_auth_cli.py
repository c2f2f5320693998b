"""``rapport user``, ``rapport token`` and ``rapport apikey``, run as the operator runs them."""

from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest

from rapport.auth.actor import Role
from rapport.auth.api_keys import ApiKeys
from rapport.auth.errors import Unauthenticated
from rapport.auth.staff import StaffAccounts
from rapport.auth.tokens import TokenVerifier
from rapport.graph.types import GraphStore
from rapport.schema.validation import Schema
from tests.test_cli import assert_one_line_error, run, store_env

__all__ = ["store_env"]  # a fixture, used by name

SECRET = "cli-tests-signing-secret-of-32-chars-at-least"


@pytest.fixture
def env(store_env: dict[str, str]) -> dict[str, str]:
    """The CLI pointed at the emptied test database of each backend, with a signing secret."""
    return {**store_env, "RAPPORT_JWT_SECRET": SECRET}


async def test_user_add_creates_a_user_who_can_log_in(env: dict[str, str], store: GraphStore) -> None:
    added = run("user", "add", "ada@example.com", "--name", "Ada Lovelace", "--role", "analyst",
                "--password-stdin", env=env, input="correct horse battery\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("created User")
    assert added.stdout.rstrip().endswith("ada@example.com (Ada Lovelace, role analyst); password set")
    user = await StaffAccounts(store, Schema()).login("ada@example.com", "correct horse battery")
    assert user.role is Role.ANALYST

    again = run("user", "add", "ada@example.com", "--name", "Other", "--role", "viewer", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("found existing User") and "role analyst); no password set" in again.stdout


def test_user_add_reports_bad_input_in_one_line(env: dict[str, str]) -> None:
    result = run("user", "add", "not-an-email", "--name", "X", "--role", "sales", env=env)
    assert_one_line_error(result, "rapport: error: User.email: must be a valid email address")
    short = run("user", "add", "x@example.com", "--name", "X", "--role", "sales", "--password-stdin",
                env=env, input="short\n")  # fmt: skip
    assert_one_line_error(short, "rapport: error: the password must have at least 12 characters")


async def test_token_issue_prints_the_token_last(env: dict[str, str], store: GraphStore) -> None:
    staff = await StaffAccounts(store, Schema()).add("grace@example.com", "Grace Hopper", "manager", None)
    verifier = TokenVerifier(secret=SECRET)

    for_user = run("token", "issue", "--user", "grace@example.com", env=env)
    assert for_user.returncode == 0, for_user.stderr
    actor = await verifier.verify(for_user.stdout.splitlines()[-1])
    grace = staff.user.id
    assert (actor.subject, actor.role, actor.user_id) == (f"user:{grace}", Role.MANAGER, grace)

    service = run("token", "issue", "--role", "analyst", "--subject", "etl", "--ttl", "120", env=env)
    token = service.stdout.splitlines()[-1]
    assert (await verifier.verify(token)).role is Role.ANALYST
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["exp"] - claims["iat"], "uid" in claims) == ("etl", 120, False)


def test_token_issue_refuses_what_it_cannot_do(env: dict[str, str]) -> None:
    unknown = run("token", "issue", "--user", "nobody@example.com", env=env)
    assert_one_line_error(unknown, "rapport: error: no User has the email nobody@example.com")
    no_secret = run("token", "issue", "--role", "admin", env={k: v for k, v in env.items() if "JWT" not in k})
    assert_one_line_error(no_secret, "rapport: error: RAPPORT_JWT_SECRET: not set")
    assert run("token", "issue", env=env).returncode == 2  # neither --role nor --user


async def test_token_issue_works_with_zero_configuration(tmp_path: Path) -> None:
    """On the embedded default the secret is generated into the data directory; no database starts."""
    result = run("token", "issue", "--role", "viewer", env={"RAPPORT_DATA_DIR": str(tmp_path)}, timeout=30)
    assert result.returncode == 0, result.stderr
    secret_file = tmp_path / "jwt-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    actor = await TokenVerifier(secret=secret_file.read_text().strip()).verify(result.stdout.splitlines()[-1])
    assert (actor.subject, actor.role) == ("service:cli", Role.VIEWER)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jwt-secret"]


async def test_apikey_create_list_revoke(env: dict[str, str], store: GraphStore) -> None:
    created = run("apikey", "create", "--name", "nightly export", "--role", "analyst", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.splitlines()[-1]
    actor = await ApiKeys(store).verify(key)
    key_id = actor.subject.removeprefix("apikey:")

    listed = run("apikey", "list", env=env).stdout
    assert key_id in listed and "nightly export" in listed and "active" in listed and key not in listed

    revoked = run("apikey", "revoke", key_id, env=env)
    assert revoked.returncode == 0 and f"revoked API key {key_id} 'nightly export'" in revoked.stdout
    assert "revoked" in run("apikey", "list", env=env).stdout
    with pytest.raises(Unauthenticated, match="revoked"):
        await ApiKeys(store).verify(key)
    unknown = run("apikey", "revoke", "nope", env=env)
    assert_one_line_error(unknown, "rapport: error: no API key has id 'nope'")
