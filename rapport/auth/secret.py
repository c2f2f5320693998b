"""The HS256 signing secret: configured, or generated once for the embedded database.

With ``RAPPORT_JWT_SECRET`` set, that is the secret. On the embedded default
(no Neo4j, no FalkorDB URL) an empty setting means "zero configuration": a
random secret is generated once into ``data_dir/jwt-secret`` (mode 0600) and
read from there afterwards, by the server and by ``rapport token issue`` alike.
Elsewhere several API workers must share the secret, so none is invented.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from rapport.config import ConfigError, Settings

SECRET_FILE = "jwt-secret"
_MIN_LENGTH = 32


def runs_embedded(settings: Settings) -> bool:
    """Whether these settings select the embedded FalkorDB that Rapport starts itself."""
    return not settings.neo4j_uri and not settings.falkordb_url


def signing_secret(settings: Settings) -> str | None:
    """The HS256 secret, or ``None`` where none is configured and none may be generated.

    Raises :class:`ConfigError` when the secret file is unreadable, too short,
    or readable by others.
    """
    configured = settings.jwt_secret.get_secret_value()
    if configured:
        return configured
    if not runs_embedded(settings):
        return None
    path = settings.data_dir / SECRET_FILE
    try:
        if not path.exists():
            _create(path)
        return _read(path)
    except OSError as error:
        raise ConfigError(f"RAPPORT_JWT_SECRET: cannot use {path}: {error.strerror or error}") from None


def _create(path: Path) -> None:
    """Write a new secret atomically; if another process won the race, keep its secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, (secrets.token_urlsafe(48) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(draft, path)  # fails if the file appeared meanwhile
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def _read(path: Path) -> str:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(f"RAPPORT_JWT_SECRET: {path} must be readable by its owner only (chmod 600 it)")
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < _MIN_LENGTH:
        raise ConfigError(f"RAPPORT_JWT_SECRET: {path} holds fewer than {_MIN_LENGTH} characters")
    return secret
