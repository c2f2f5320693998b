"""Settings, from ``RAPPORT_*`` environment variables (or passed in explicitly).

Nothing here connects to anything; reading settings has no side effects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
