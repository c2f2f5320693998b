"""Errors raised by the graph store, the same on every backend."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or refused the connection (start-up or later)."""


class StoreConfigError(StoreError):
    """The store's configuration is wrong (bad URI, bad credentials, locked data directory)."""


class QueryError(StoreError):
    """The database rejected a query (syntax, types, semantics).

    ``code`` says why as a Neo4j status code (FalkorDB's messages are mapped to
    the closest one), so callers such as the Cypher endpoint answer alike on
    both backends.
    """

    code = "Neo.ClientError.Statement.SemanticError"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class ReadOnlyViolation(QueryError):
    """A read query tried to write."""

    code = "Neo.ClientError.Statement.AccessMode"


class ConstraintViolation(QueryError):
    """A uniqueness (or other schema) constraint refused a write; nothing was written."""

    code = "Neo.ClientError.Schema.ConstraintValidationFailed"


class QueryTimeout(QueryError):
    """A query ran past its timeout and was stopped; nothing was written."""

    code = "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration"


class NothingMatched(StoreError):
    """A statement that had to match (e.g. both ends of a new relationship) matched
    nothing; the transaction was rolled back."""
