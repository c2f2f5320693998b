"""Errors of authentication and of managing credentials."""

from __future__ import annotations


class AuthError(Exception):
    """A credential cannot be created, changed or used; the message says why in one line."""


class Unauthenticated(AuthError):
    """The caller is not known: no credential, or one that is malformed, expired or revoked.

    ``reason`` is safe to show to the caller. ``missing`` is true when no
    credential was sent at all (HTTP answers then omit the ``invalid_token`` hint).
    """

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


class Forbidden(AuthError):
    """The caller is known but its role may not do this."""
