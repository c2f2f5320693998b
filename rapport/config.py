"""Settings, from ``RAPPORT_*`` environment variables (or passed in explicitly).

Nothing here connects to anything; reading settings has no side effects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ConfigError(Exception):
    """The configuration is invalid; the message is one readable line."""


class Settings(BaseSettings):
    """Rapport's configuration. Embedded FalkorDB unless a Neo4j URI is given."""

    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore", frozen=True)

    neo4j_uri: str | None = Field(
        default=None, description="bolt://, neo4j:// or neo4j+s:// URI; selects the Neo4j backend"
    )
    neo4j_user: str = Field(default="neo4j", description="Neo4j user name")
    neo4j_password: SecretStr = Field(default=SecretStr(""), description="Neo4j password")
    neo4j_database: str = Field(default="neo4j", description="Neo4j database name")
    falkordb_url: str | None = Field(
        default=None,
        description="redis:// or unix:// URL of a FalkorDB server to use instead of the embedded one",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("rapport")),
        description="where the embedded database keeps its files",
    )
    graph_name: str = Field(
        default="rapport", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="FalkorDB graph key"
    )
    embedded_fsync: Literal["everysec", "always"] = Field(
        default="everysec", description="AOF fsync policy of the embedded database"
    )
    query_timeout: float = Field(default=30.0, gt=0, description="default per-query timeout in seconds")

    # -- change events (rapport.events) --
    redis_url: str | None = Field(
        default=None, description="Redis for the event stream (default: the FalkorDB server itself)"
    )
    events_relay: bool = Field(default=True, description="publish the outbox to the event stream")
    events_max_length: int = Field(default=1_000_000, gt=0, description="events the stream keeps (about)")
    events_subscriber_queue: int = Field(
        default=1_000, gt=0, description="events a subscriber may fall behind before it is disconnected"
    )
    outbox_retention: float = Field(
        default=86_400.0, gt=0, description="seconds a published outbox record is kept before pruning"
    )

    # -- relationship intelligence (rapport.algorithms) --
    strength_interval: float = Field(
        default=0.0,
        ge=0,
        description="seconds between recomputations of relationship strength by the server (0: never; "
        "`rapport strength` runs it on demand)",
    )
    influence_interval: float = Field(
        default=0.0,
        ge=0,
        description="seconds between recomputations of customer influence by the server (0: never; "
        "`rapport influence` runs it on demand)",
    )
    segments_interval: float = Field(
        default=0.0,
        ge=0,
        description="seconds between refreshes of the community segments by the server (0: never; "
        "`rapport segments` runs it on demand)",
    )

    # -- the GraphQL API (rapport.api.graphql_http, rapport.resolvers.limits) --
    graphql_timeout: float = Field(default=10.0, gt=0, description="database timeout per GraphQL request (s)")
    graphql_max_depth: int = Field(default=12, gt=0, description="deepest field nesting a query may have")
    graphql_max_aliases: int = Field(default=30, ge=0, description="aliases a query may use")
    graphql_max_tokens: int = Field(default=5_000, gt=0, description="lexical tokens a document may have")
    graphql_max_cost: int = Field(
        default=50_000,
        gt=0,
        description="records a query may ask for (page sizes multiplied through nesting)",
    )
    graphql_max_page: int = Field(default=500, gt=0, description="largest first/last of a connection")
    graphql_default_page: int = Field(default=20, gt=0, description="page size when first/last is not given")
    graphql_introspection: bool = Field(
        default=True, description="answer __schema/__type (off in production)"
    )
    graphiql: bool = Field(default=True, description="serve GraphiQL on GET /graphql from a browser")
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated origins (https://crm.example.com) whose pages may open "
        "subscription WebSockets besides the server's own; * allows any",
    )

    # -- authentication (rapport.auth) and the analysts' Cypher endpoint (rapport.api) --
    jwt_secret: SecretStr = Field(
        default=SecretStr(""),
        description="HS256 signing secret of bearer tokens (at least 32 characters); when empty on "
        "the embedded database, one is generated into data_dir/jwt-secret",
    )
    jwks_url: str | None = Field(
        default=None, description="JWKS URL of an OIDC provider; its RS256 tokens are accepted"
    )
    jwt_issuer: str | None = Field(default=None, description="required `iss` of bearer tokens")
    jwt_audience: str | None = Field(default=None, description="required `aud` of bearer tokens")
    token_ttl: int = Field(default=8 * 3600, gt=0, description="lifetime of issued tokens in seconds")
    cypher_timeout: float = Field(default=30.0, gt=0, description="timeout of analysts' Cypher queries (s)")
    cypher_max_rows: int = Field(default=10_000, gt=0, description="rows returned per Cypher query at most")
    cypher_audit_file: Path | None = Field(
        default=None, description="JSON-lines audit of Cypher queries (default data_dir/audit/cypher.jsonl)"
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_secret(cls, secret: SecretStr) -> SecretStr:
        if secret.get_secret_value() and len(secret.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -base64 48`)")
        return secret

    @field_validator("jwks_url", "jwt_issuer", "jwt_audience")
    @classmethod
    def _unset_when_empty(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("jwks_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("must be an https:// (or http://) URL")
        return url

    @field_validator("neo4j_uri")
    @classmethod
    def _known_scheme(cls, uri: str | None) -> str | None:
        if uri is None or uri == "":
            return None
        schemes = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")
        if not uri.startswith(schemes):
            raise ValueError(f"must start with one of {', '.join(schemes)}")
        return uri


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise :class:`ConfigError` with one line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        raise ConfigError(f"RAPPORT_{field.upper()}: {first['msg']}") from None
