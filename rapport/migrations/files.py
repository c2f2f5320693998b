"""Migration files: ``V<number>__<description>.cypher``, statements separated by ``;``."""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from rapport.graph.cypher_text import tokens

BUILT_IN = Path(__file__).parent / "cypher"
_FILE_NAME = re.compile(r"^V(\d+)__([A-Za-z0-9_]+)\.cypher$")


class MigrationError(Exception):
    """A migration cannot be applied; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    description: str
    file_name: str
    statements: tuple[str, ...]
    checksum: str


def split_statements(text: str) -> list[str]:
    """Split Cypher text on top-level ``;``, ignoring those in strings and comments."""
    statements: list[str] = []
    current: list[str] = []
    for token in tokens(text):
        if token.kind == "symbol" and token.text == ";" and token.depth == 0:
            statements.append("".join(current))
            current = []
        elif token.kind != "comment":
            current.append(token.text)
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def load(path: Path) -> Migration:
    """Read one migration file; its checksum ignores line-ending style."""
    match = _FILE_NAME.match(path.name)
    if not match:
        raise MigrationError(f"{path.name}: migration files are named V<number>__<description>.cypher")
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    return Migration(
        version=int(match.group(1)),
        description=match.group(2).replace("_", " "),
        file_name=path.name,
        statements=tuple(split_statements(text)),
        checksum=hashlib.sha256(text.encode()).hexdigest(),
    )


def discover(directory: Path = BUILT_IN) -> list[Migration]:
    """Every migration in ``directory``, in version order; duplicate versions are refused."""
    migrations = sorted((load(p) for p in directory.glob("*.cypher")), key=lambda m: m.version)
    for earlier, later in itertools.pairwise(migrations):
        if earlier.version == later.version:
            raise MigrationError(f"{earlier.file_name} and {later.file_name} share version {earlier.version}")
    return migrations
