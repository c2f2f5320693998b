"""Staff accounts: ``User`` nodes of the CRM model and their login credentials.

A credential is a ``_Credential`` node (a system label, outside the CRM
model) keyed by the user's email, holding the argon2 hash of the password and
the ``User``'s id. It is separate from the ``User`` so that reading, exporting
or editing a ``User`` through the API never touches a password hash.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rapport.auth.actor import Role
from rapport.auth.errors import AuthError, Unauthenticated
from rapport.auth.passwords import check_policy, hash_password, needs_rehash, verify_in_thread
from rapport.graph.records import Records
from rapport.graph.types import GraphStore, Statement
from rapport.graph.values import now_millis
from rapport.schema.errors import SchemaViolation
from rapport.schema.fields import FieldRuleError
from rapport.schema.validation import Schema

_FIND_USER = "MATCH (u:User {email: $email}) RETURN u.id AS id, u.name AS name, u.role AS role"
_SET_CREDENTIAL = """
MERGE (c:_Credential {email: $email})
ON CREATE SET c.createdAt = $now
SET c.userId = $userId, c.passwordHash = $hash, c.updatedAt = $now
"""
_LOGIN = """
MATCH (c:_Credential {email: $email})
OPTIONAL MATCH (u:User {id: c.userId})
RETURN c.passwordHash AS hash, u.id AS id, u.name AS name, u.role AS role, u.active AS active
"""
_REHASH = "MATCH (c:_Credential {email: $email}) SET c.passwordHash = $hash, c.updatedAt = $now"


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A staff member as authentication sees them."""

    id: str
    email: str
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class AddedUser:
    """The outcome of :meth:`StaffAccounts.add`."""

    user: StaffUser
    created: bool  # a new User node; else the credential went to an existing one
    password_set: bool


class StaffAccounts:
    """Adds staff users with passwords and checks their logins."""

    def __init__(self, store: GraphStore, schema: Schema) -> None:
        self._store = store
        self._schema = schema

    def normalised_email(self, email: str) -> str:
        """The email as ``User`` nodes store it; :class:`SchemaViolation` if it is not one."""
        field = self._schema.label("User").field("email")
        assert field is not None
        try:
            normalised: str = field.check(email)
        except FieldRuleError as error:
            raise SchemaViolation.single("User", "email", error.rule, error.message) from None
        return normalised

    async def find(self, email: str) -> StaffUser | None:
        """The ``User`` with this email, if there is exactly one."""
        email = self.normalised_email(email)
        rows = await self._store.read(_FIND_USER, {"email": email})
        if len(rows) > 1:
            raise AuthError(f"{len(rows)} User nodes share the email {email}; make it unique first")
        if not rows:
            return None
        return StaffUser(rows[0]["id"], email, rows[0]["name"], Role(rows[0]["role"]))

    async def add(self, email: str, name: str, role: Role | str, password: str | None) -> AddedUser:
        """Create the ``User`` (validated by the model) unless one has this email; set its password.

        An existing ``User`` keeps its name and role. Both nodes are written in
        one transaction: a failure leaves neither.
        """
        if password is not None:
            check_policy(password)
        existing = await self.find(email)
        statements: list[Statement] = []
        if existing is None:
            statement, stored = Records(self._store, self._schema).plan_create(
                "User", {"email": email, "name": name, "role": str(role), "active": True}
            )
            statements.append(statement)
            user = StaffUser(stored["id"], stored["email"], stored["name"], Role(stored["role"]))
        else:
            user = existing
        if password is not None:
            statements.append(await self._credential(user, password))
        if statements:
            await self._store.write_transaction(statements)
        return AddedUser(user, created=existing is None, password_set=password is not None)

    async def _credential(self, user: StaffUser, password: str) -> Statement:
        password_hash = await asyncio.to_thread(hash_password, password)
        params = {"email": user.email, "userId": user.id, "hash": password_hash, "now": now_millis()}
        return Statement(_SET_CREDENTIAL, params)

    async def login(self, email: str, password: str) -> StaffUser:
        """The active user these credentials belong to; :class:`Unauthenticated` otherwise.

        Every failure reads the same, and unknown emails cost a hash too, so
        answers do not reveal which accounts exist.
        """
        try:
            email = self.normalised_email(email)
        except SchemaViolation:
            email = ""
        rows = await self._store.read(_LOGIN, {"email": email}) if email else []
        row = rows[0] if rows else None
        if not await verify_in_thread(row["hash"] if row else None, password):
            raise Unauthenticated("wrong email or password")
        assert row is not None
        if row["id"] is None or row["active"] is False:
            raise Unauthenticated("wrong email or password")
        if needs_rehash(row["hash"]):
            password_hash = await asyncio.to_thread(hash_password, password)
            await self._store.write(_REHASH, {"email": email, "hash": password_hash, "now": now_millis()})
        return StaffUser(row["id"], email, row["name"], Role(row["role"]))
