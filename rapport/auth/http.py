"""Authentication over HTTP: the actor of a request, refusals as JSON, password login.

Endpoints call :func:`require_actor` (or :func:`require_role`); the
:data:`EXCEPTION_HANDLERS`, installed on the application, turn a refusal
that escapes an endpoint into 401 (with ``WWW-Authenticate: Bearer``) or 403,
with a GraphQL-style body::

    {"errors": [{"message": "token expired", "extensions": {"code": "UNAUTHENTICATED"}}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rapport.auth.actor import Actor, Role
from rapport.auth.errors import Forbidden, Unauthenticated

if TYPE_CHECKING:
    from rapport.auth.authenticator import Authenticator

_REALM = 'Bearer realm="rapport"'


def authenticator_of(request: Request) -> Authenticator:
    """The application's authenticator (built in its lifespan)."""
    authenticator: Authenticator = request.app.state.rapport.authenticator
    return authenticator


async def require_actor(request: Request) -> Actor:
    """The authenticated caller of ``request`` (verified once per request).

    Raises :class:`Unauthenticated`, which the application answers with 401.
    """
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        actor = await authenticator_of(request).authenticate(request.headers)
        request.state.actor = actor
    return actor


async def require_role(request: Request, *roles: Role) -> Actor:
    """The caller, if its role is one of ``roles``; else :class:`Forbidden` (answered with 403)."""
    actor = await require_actor(request)
    if actor.role not in roles:
        raise Forbidden(f"the {actor.role.value} role may not do this")
    return actor


def www_authenticate(error: Unauthenticated) -> dict[str, str]:
    """The ``WWW-Authenticate`` header of a 401 (RFC 6750)."""
    if error.missing:
        return {"WWW-Authenticate": _REALM}
    return {"WWW-Authenticate": f'{_REALM}, error="invalid_token"'}


def _errors(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


async def _unauthenticated(request: Request, error: Exception) -> Response:
    assert isinstance(error, Unauthenticated)
    return JSONResponse(_errors(error.reason, "UNAUTHENTICATED"), 401, headers=www_authenticate(error))


async def _forbidden(request: Request, error: Exception) -> Response:
    return JSONResponse(_errors(str(error), "FORBIDDEN"), 403)


EXCEPTION_HANDLERS: Mapping[Any, Any] = {Unauthenticated: _unauthenticated, Forbidden: _forbidden}
"""Pass as ``Starlette(exception_handlers=...)``."""


async def password_login(request: Request) -> Response:
    """``POST /auth/token`` with ``{"email": …, "password": …}``: a bearer token for a staff user.

    Answers ``{"access_token": …, "token_type": "Bearer", "expires_in": seconds}``
    (the OAuth 2 token response), or 401 for wrong credentials.
    """
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("email", "password")):
        return JSONResponse(_errors("send JSON with string fields email and password", "BAD_REQUEST"), 400)
    token, ttl = await authenticator_of(request).login(body["email"], body["password"])
    return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": ttl})
