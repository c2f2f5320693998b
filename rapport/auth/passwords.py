"""Staff passwords: a length policy and argon2id hashes (argon2-cffi's recommended parameters).

Hashing is deliberately slow (tens of milliseconds of CPU), so async callers
run it in a worker thread (:func:`verify_in_thread`) to keep the event loop free.
"""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rapport.auth.errors import AuthError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a bound keeps hashing cost predictable


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def check_policy(password: str) -> None:
    """Raise :class:`AuthError` when ``password`` is too short or too long."""
    if len(password) < MIN_LENGTH:
        raise AuthError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise AuthError(f"the password must have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The argon2id hash of a password that meets the policy (PHC string, salt included)."""
    check_policy(password)
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a damaged hash matches nothing."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash at next login)."""
    return _hasher().check_needs_rehash(password_hash)


@cache
def _decoy_hash() -> str:
    return _hasher().hash("decoy password for unknown accounts")


async def verify_in_thread(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` off the event loop.

    With no hash (unknown account) it verifies against a decoy and returns
    false, so a login takes as long for unknown accounts as for known ones.
    """
    return await asyncio.to_thread(verify_password, password_hash or _decoy_hash(), password) and (
        password_hash is not None
    )
