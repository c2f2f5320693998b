"""``rapport user``, ``rapport token`` and ``rapport apikey``: staff logins, tokens, service keys.

:func:`auth_commands` builds the commands around the main CLI's runners, so
that they open the store and report errors exactly as every other command.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import click

from rapport.auth.actor import Role
from rapport.auth.api_keys import ApiKeys
from rapport.auth.errors import AuthError
from rapport.auth.staff import StaffAccounts, StaffUser
from rapport.auth.tokens import TokenIssuer
from rapport.cli_format import table
from rapport.config import load_settings
from rapport.graph.types import GraphStore
from rapport.migrations.runner import MigrationRunner
from rapport.schema.custom_fields import CustomFields
from rapport.schema.validation import Schema

T = TypeVar("T")

_ROLES = click.Choice([r.value for r in Role])


class StoreRunner(Protocol):
    """Opens the configured store, runs the work, closes the store; errors become one line."""

    def __call__(self, work: Callable[[GraphStore], Awaitable[T]], /) -> T: ...


class Runner(Protocol):
    """Runs a coroutine that needs no store; errors become one line."""

    def __call__(self, main: Callable[[], Coroutine[Any, Any, T]], /) -> T: ...


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def auth_commands(run_with_store: StoreRunner, run: Runner) -> list[click.Command]:
    """The ``user``, ``token`` and ``apikey`` command groups."""

    @click.group()
    def user() -> None:
        """Staff users and their passwords."""

    @user.command("add")
    @click.argument("email")
    @click.option("--name", required=True, help="The user's full name.")
    @click.option("--role", type=_ROLES, required=True, help="What the user may do.")
    @click.option("--password-stdin", is_flag=True, help="Read a password from the first line of stdin.")
    def add_user(email: str, name: str, role: str, password_stdin: bool) -> None:
        """Create the staff User EMAIL (or take the existing one) and set its password.

        Without --password-stdin no password is set: the user then signs in
        through the identity provider, or with a token from `rapport token issue`.
        """
        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None

        async def work(store: GraphStore) -> None:
            await MigrationRunner(store).migrate()
            staff = StaffAccounts(store, await CustomFields(store).load())
            added = await staff.add(email, name, role, password)
            u = added.user
            what = "created User" if added.created else "found existing User"
            login = "password set" if added.password_set else "no password set"
            click.echo(f"{what} {u.id} {u.email} ({u.name}, role {u.role.value}); {login}")

        run_with_store(work)

    @click.group()
    def token() -> None:
        """Bearer tokens signed with RAPPORT_JWT_SECRET."""

    @token.command("issue")
    @click.option("--role", type=_ROLES, help="The token's role (default with --user: the user's role).")
    @click.option("--user", "email", help="Issue it for the staff User with this email.")
    @click.option("--ttl", type=click.IntRange(min=1), help="Seconds valid (default RAPPORT_TOKEN_TTL).")
    @click.option("--subject", help="The token's subject (default user:<id>, or service:cli).")
    def issue_token(role: str | None, email: str | None, ttl: int | None, subject: str | None) -> None:
        """Print a bearer token (its last line); --user reads the user from the store."""
        if role is None and email is None:
            raise click.UsageError("give --role, --user, or both")

        def sign(staff: StaffUser | None) -> str:
            issuer = TokenIssuer.from_settings(load_settings())
            actor_role = staff.role if role is None and staff is not None else Role(str(role))
            who = subject or (f"user:{staff.id}" if staff else "service:cli")
            click.echo(f"token for {who}, role {actor_role.value}, valid {ttl or issuer.ttl} s:", err=True)
            return issuer.issue(subject=who, role=actor_role, user_id=staff.id if staff else None, ttl=ttl)

        async def for_user(store: GraphStore) -> str:
            staff = await StaffAccounts(store, Schema()).find(email or "")
            if staff is None:
                raise AuthError(f"no User has the email {email}")
            return sign(staff)

        async def for_service() -> str:
            return sign(None)

        click.echo(run_with_store(for_user) if email else run(for_service))

    @click.group()
    def apikey() -> None:
        """API keys of service accounts."""

    @apikey.command("create")
    @click.option("--name", required=True, help="What the key is for (shown in lists).")
    @click.option("--role", type=_ROLES, required=True, help="What the key may do.")
    def create_key(name: str, role: str) -> None:
        """Create an API key and print it (its last line), once: only a digest is stored."""

        async def work(store: GraphStore) -> str:
            await MigrationRunner(store).migrate()
            info, key = await ApiKeys(store).create(name, role)
            click.echo(f"created API key {info.id} {info.name!r} (role {info.role.value}); "
                       "store it now, it is not shown again:", err=True)  # fmt: skip
            return key

        click.echo(run_with_store(work))

    @apikey.command("list")
    def list_keys() -> None:
        """List API keys (never the keys themselves)."""

        async def work(store: GraphStore) -> None:
            rows = [
                {"id": k.id, "name": k.name, "role": k.role.value, "created": _when(k.created_at),
                 "last used": _when(k.last_used_at), "status": "revoked" if k.revoked else "active"}
                for k in await ApiKeys(store).list()
            ]  # fmt: skip
            click.echo(table(rows))

        run_with_store(work)

    @apikey.command("revoke")
    @click.argument("key_id", metavar="ID")
    def revoke_key(key_id: str) -> None:
        """Revoke the API key ID for good."""

        async def work(store: GraphStore) -> None:
            name = await ApiKeys(store).revoke(key_id)
            click.echo(f"revoked API key {key_id} {name!r}")

        run_with_store(work)

    return [user, token, apikey]
