"""The baseline for bench.api: a straightforward strawberry API, one resolver per field.

    .venv/bin/python -m bench.api_baseline --port 8001     # RAPPORT_* variables choose the store
    .venv/bin/python -m bench.api_baseline --port 8001 --no-document-caches

This is how a GraphQL API over a graph is usually written first: strawberry
types for Account, Customer, Deal and User, and an async resolver on every
relationship field that runs its own Cypher query through the same
:class:`~rapport.graph.types.GraphStore` Rapport uses. No selection is
compiled and no query batched, so a request for an account with its
contacts, open deals and owner costs four round trips (N+1 once lists nest).

It answers query (1) of :mod:`bench.api` with the same response as Rapport
(global ids, the same order: by record id, the same default page of 20), and
it authenticates every request with Rapport's own authenticator. It caches
parsed and validated documents with strawberry's ParserCache and
ValidationCache, as Rapport caches them, so the comparison measures
execution: one query per root field against one per relationship field.
``--no-document-caches`` gives strawberry's defaults instead. Served like
``rapport serve --workers 1``: one uvicorn worker with uvloop, access log on.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, NewType

import strawberry
import uvicorn
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

from rapport.auth.actor import Actor
from rapport.auth.authenticator import Authenticator
from rapport.auth.errors import Unauthenticated
from rapport.config import load_settings
from rapport.graph.connect import open_store
from rapport.graph.types import GraphStore, Record

Long = strawberry.scalar(
    NewType("Long", int), name="Long", serialize=int, parse_value=int, description="A 64-bit integer."
)


@dataclass(frozen=True, slots=True)
class Context:
    """What every resolver of one request sees."""

    store: GraphStore
    actor: Actor


Info = strawberry.Info[Context, None]


# Each relationship query starts from the account found by its id index. Written as one pattern, a
# filter on the far end (a deal's stage) lets FalkorDB's planner start from a scan of every deal.
_THE_ACCOUNT = "MATCH (a:Account {id: $id}) WITH a"


async def _rows(info: Info, cypher: str, **params: Any) -> list[Record]:
    return await info.context.store.read(cypher, params)


@strawberry.enum
class DealStage(Enum):
    prospecting = "prospecting"
    qualification = "qualification"
    proposal = "proposal"
    negotiation = "negotiation"
    closed_won = "closed_won"
    closed_lost = "closed_lost"


@strawberry.input
class DealStageFilter:
    eq: DealStage | None = None
    in_: list[DealStage] | None = strawberry.field(name="in", default=None)
    not_in: list[DealStage] | None = None


@strawberry.input
class DealWhere:
    stage: DealStageFilter | None = None


def _stage_condition(where: DealWhere | None, params: dict[str, Any]) -> str:
    """The ``WHERE`` clause for a deal filter; values go into ``params``."""
    stage = where.stage if where else None
    if stage is None:
        return ""
    conditions = []
    if stage.eq is not None:
        params["eq"] = stage.eq.value
        conditions.append("d.stage = $eq")
    if stage.in_ is not None:
        params["in"] = [s.value for s in stage.in_]
        conditions.append("d.stage IN $in")
    if stage.not_in is not None:
        params["not_in"] = [s.value for s in stage.not_in]
        conditions.append("NOT d.stage IN $not_in")
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    email: str | None


@strawberry.type
class Customer:
    id: strawberry.ID
    first_name: str
    last_name: str
    email: str | None


@strawberry.type
class Deal:
    id: strawberry.ID
    name: str
    stage: DealStage
    amount: Long  # type: ignore[valid-type]


@strawberry.type
class WorksAtCustomerEdge:
    title: str | None
    node: Customer


@strawberry.type
class WorksAtCustomerConnection:
    edges: list[WorksAtCustomerEdge]


@strawberry.type
class DealConnection:
    nodes: list[Deal]


@strawberry.type
class UserConnection:
    nodes: list[User]


@strawberry.type
class Account:
    id: strawberry.ID
    name: str
    domain: str | None
    industry: str | None
    record_id: strawberry.Private[str]

    @strawberry.field
    async def contacts(self, info: Info, first: int = 20) -> WorksAtCustomerConnection:
        rows = await _rows(
            info,
            f"{_THE_ACCOUNT} MATCH (a)<-[r:WORKS_AT]-(c:Customer) "
            "RETURN r.title AS title, c.id AS id, c.firstName AS firstName, c.lastName AS lastName, "
            "c.email AS email ORDER BY c.id LIMIT $first",
            id=self.record_id,
            first=first,
        )
        return WorksAtCustomerConnection(
            edges=[
                WorksAtCustomerEdge(
                    title=row["title"],
                    node=Customer(
                        id=strawberry.ID(f"Customer:{row['id']}"),
                        first_name=row["firstName"],
                        last_name=row["lastName"],
                        email=row["email"],
                    ),
                )
                for row in rows
            ]
        )

    @strawberry.field
    async def deals(self, info: Info, first: int = 20, where: DealWhere | None = None) -> DealConnection:
        params: dict[str, Any] = {"id": self.record_id, "first": first}
        condition = _stage_condition(where, params)
        rows = await _rows(
            info,
            f"{_THE_ACCOUNT} MATCH (a)<-[:FOR_ACCOUNT]-(d:Deal) {condition} "
            "RETURN d.id AS id, d.name AS name, d.stage AS stage, d.amount AS amount "
            "ORDER BY d.id LIMIT $first",
            **params,
        )
        return DealConnection(
            nodes=[
                Deal(
                    id=strawberry.ID(f"Deal:{row['id']}"),
                    name=row["name"],
                    stage=DealStage(row["stage"]),
                    amount=row["amount"],
                )
                for row in rows
            ]
        )

    @strawberry.field
    async def owners(self, info: Info, first: int = 20) -> UserConnection:
        rows = await _rows(
            info,
            f"{_THE_ACCOUNT} MATCH (a)<-[:OWNS]-(u:User) "
            "RETURN u.id AS id, u.name AS name, u.email AS email ORDER BY u.id LIMIT $first",
            id=self.record_id,
            first=first,
        )
        return UserConnection(
            nodes=[
                User(id=strawberry.ID(f"User:{row['id']}"), name=row["name"], email=row["email"])
                for row in rows
            ]
        )


@strawberry.type
class Query:
    @strawberry.field
    async def account(self, info: Info, id: strawberry.ID) -> Account | None:
        record_id = id.removeprefix("Account:")
        rows = await _rows(
            info,
            "MATCH (a:Account {id: $id}) "
            "RETURN a.id AS id, a.name AS name, a.domain AS domain, a.industry AS industry",
            id=record_id,
        )
        if not rows:
            return None
        row = rows[0]
        return Account(
            id=strawberry.ID(f"Account:{row['id']}"),
            name=row["name"],
            domain=row["domain"],
            industry=row["industry"],
            record_id=row["id"],
        )


class BaselineGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI view; the context holds the app's store and the authenticated actor."""

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        state = request.app.state
        try:
            actor = await state.authenticator.authenticate(request.headers)
        except Unauthenticated as error:
            raise HTTPException(401, error.reason) from None
        return Context(state.store, actor)


def create_app(document_caches: bool = True) -> Starlette:
    """The baseline application on the store the ``RAPPORT_*`` variables name.

    ``document_caches`` adds strawberry's own caches of parsed and validated
    documents (Rapport caches them too); without them most of a request's
    time goes to validating the document again, not to executing it.
    """
    settings = load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.store = await open_store(settings)
        try:
            app.state.authenticator = await Authenticator.from_settings(settings, app.state.store)
            yield
        finally:
            await app.state.store.close()

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    # Classes, not instances: strawberry makes one per request; their caches live in the module.
    extensions = [ParserCache, ValidationCache] if document_caches else []
    view = BaselineGraphQL(strawberry.Schema(query=Query, extensions=extensions), graphql_ide=None)
    routes = [Route("/graphql", view, methods=["GET", "POST"]), Route("/health", health)]
    return Starlette(routes=routes, lifespan=lifespan)


def create_app_without_caches() -> Starlette:
    """strawberry's defaults: every request's document is parsed and validated again."""
    return create_app(document_caches=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--no-document-caches", action="store_true", help="parse and validate every request's document"
    )
    args = parser.parse_args()
    factory = "create_app_without_caches" if args.no_document_caches else "create_app"
    uvicorn.run(
        f"bench.api_baseline:{factory}",
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        log_level="info",
    )


if __name__ == "__main__":
    main()
