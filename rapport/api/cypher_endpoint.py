"""``POST /db/{database}/query/v2``: analysts' read-only Cypher, answered as Neo4j's Query API does.

Request: ``{"statement": "…", "parameters": {…}}`` (other Query API fields
are accepted and ignored; every statement runs in a read transaction
whatever ``accessMode`` says). Answers follow Neo4j 5's Query API, so its
clients and habits carry over:

- 202 with ``{"data": {"fields": […], "values": [[…], …]}, "bookmarks": []}``,
  plus ``notifications`` when the result was cut at ``RAPPORT_CYPHER_MAX_ROWS``;
- errors as ``{"errors": [{"code": "Neo.ClientError…", "message": …}]}``: 400 for
  a bad request and for every client or transient error (syntax, missing
  parameter, a write attempt ``Neo.ClientError.Statement.AccessMode``, a query
  stopped by ``RAPPORT_CYPHER_TIMEOUT``
  ``Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration``), 401
  without valid credentials, 403 for roles other than analyst and admin, 404
  ``Neo.ClientError.Database.DatabaseNotFound`` for a database other than this
  server's (``RAPPORT_NEO4J_DATABASE`` on Neo4j, ``RAPPORT_GRAPH_NAME`` on
  FalkorDB), 500 for database errors, 503 when the database is unreachable.

Read-only is enforced by the database (a read transaction on Neo4j,
``GRAPH.RO_QUERY`` on FalkorDB), not by inspecting the text. Every request of
an authenticated caller is written to the audit trail (:mod:`rapport.api.audit`)
before it is answered; if that fails, the result is withheld.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rapport.api.audit import AuditEntry, CypherAuditLog
from rapport.api.cypher_json import dumps, plain_json
from rapport.auth.actor import Actor, Role
from rapport.auth.errors import Unauthenticated
from rapport.auth.http import require_actor, www_authenticate
from rapport.config import Settings
from rapport.graph.errors import QueryError, StoreError, StoreUnavailable
from rapport.graph.types import Table

if TYPE_CHECKING:
    from rapport.app import AppState

ROLES = frozenset({Role.ANALYST, Role.ADMIN})
TRUNCATED = "Rapport.ClientNotification.Result.Truncated"


class _Refusal(Exception):
    """A request answered with an error before any query ran."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def database_name(settings: Settings) -> str:
    """The one database this server answers for."""
    return settings.neo4j_database if settings.neo4j_uri else settings.graph_name


def _json(document: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(document), status, headers, media_type="application/json")


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return _json({"errors": [{"code": code, "message": message}]}, status, headers)


@dataclass
class _Attempt:
    """What the audit trail needs to know about one request, filled in as it is answered."""

    statement: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    table: Table = field(default_factory=lambda: Table((), []))
    outcome: str = "ok"


async def cypher_query(request: Request) -> Response:
    """Run the posted statement for an analyst; see the module's docstring."""
    state: AppState = request.app.state.rapport
    try:
        actor = await require_actor(request)
    except Unauthenticated as error:
        return _error(401, "Neo.ClientError.Security.Unauthorized", error.reason, www_authenticate(error))
    except StoreError as error:  # an API key could not be looked up
        return _error(*_status_of(error), _one_line(error))
    started = time.perf_counter()
    attempt = _Attempt()
    try:
        response = await _answer(request, state, actor, attempt)
    except _Refusal as refusal:
        response, attempt.outcome = _error(refusal.status, refusal.code, refusal.message), refusal.code
    except StoreError as error:
        status, attempt.outcome = _status_of(error)
        response = _error(status, attempt.outcome, _one_line(error))
    entry = AuditEntry(
        subject=actor.subject,
        role=actor.role.value,
        client=request.client.host if request.client else None,
        database=request.path_params["database"],
        statement=attempt.statement,
        parameters=sorted(attempt.parameters),
        rows=len(attempt.table.rows),
        truncated=attempt.table.truncated,
        ms=round((time.perf_counter() - started) * 1000, 3),
        outcome=attempt.outcome,
    )
    try:
        await CypherAuditLog.for_settings(state.settings).record(entry)
    except OSError as error:
        return _error(
            500, "Neo.DatabaseError.General.UnknownError", f"the query could not be audited: {error}"
        )
    return response


async def _answer(request: Request, state: AppState, actor: Actor, attempt: _Attempt) -> Response:
    if actor.role not in ROLES:
        raise _Refusal(403, "Neo.ClientError.Security.Forbidden", "Cypher queries need the analyst role")
    database = request.path_params["database"]
    if database != database_name(state.settings):
        raise _Refusal(404, "Neo.ClientError.Database.DatabaseNotFound", f"Graph not found: {database}")
    attempt.statement, attempt.parameters = _parse(await request.body())
    settings = state.settings
    attempt.table = await state.store.read_table(
        attempt.statement,
        attempt.parameters,
        timeout=settings.cypher_timeout,
        max_rows=settings.cypher_max_rows,
    )
    return _json(_result(attempt.table, settings.cypher_max_rows), 202)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _parse(body: bytes) -> tuple[str, dict[str, Any]]:
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise _Refusal(400, "Neo.ClientError.Request.Invalid", f"the body is not JSON: {error}") from None
    if not isinstance(request, dict):
        raise _Refusal(400, "Neo.ClientError.Request.Invalid", "the body must be a JSON object")
    statement, parameters = request.get("statement"), request.get("parameters") or {}
    if not isinstance(statement, str) or not statement.strip():
        raise _Refusal(400, "Neo.ClientError.Request.Invalid", "'statement' must be a non-empty string")
    if not isinstance(parameters, dict):
        raise _Refusal(400, "Neo.ClientError.Request.Invalid", "'parameters' must be a JSON object")
    return statement, parameters


def _result(table: Table, max_rows: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "data": {"fields": list(table.columns), "values": plain_json(table.rows)},
    }
    if table.truncated:
        document["notifications"] = [
            {
                "code": TRUNCATED,
                "title": "The result was truncated.",
                "description": f"Only the first {max_rows} rows are returned (RAPPORT_CYPHER_MAX_ROWS); "
                "add LIMIT, or aggregate.",
                "severity": "WARNING",
                "category": "GENERIC",
            }
        ]
    document["bookmarks"] = []
    return document


def _status_of(error: StoreError) -> tuple[int, str]:
    """The HTTP status and Neo4j code Neo4j's Query API would answer this error with."""
    if isinstance(error, StoreUnavailable):
        return 503, "Neo.TransientError.General.DatabaseUnavailable"
    if isinstance(error, QueryError):
        return (500 if error.code.startswith("Neo.DatabaseError.") else 400), error.code
    return 500, "Neo.DatabaseError.General.UnknownError"
