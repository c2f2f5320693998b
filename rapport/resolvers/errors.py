"""Errors a GraphQL request can end with, each with the code clients branch on."""

from __future__ import annotations


class RequestError(Exception):
    """An error reported to the client in ``errors[]`` with ``extensions.code``."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UserInputError(RequestError):
    """An argument broke a rule (bad cursor, bad id, too large ``first``)."""

    code = "BAD_USER_INPUT"


class Forbidden(RequestError):
    """The actor may not do this; the message reveals nothing about the records."""

    code = "FORBIDDEN"


class LimitExceeded(RequestError):
    """The query is too deep, too wide or too costly."""

    code = "QUERY_TOO_COMPLEX"
