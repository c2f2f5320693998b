"""A small lexical view of Cypher text: enough to rename parameters and alias
the final ``RETURN`` items without being fooled by strings, comments, backticks
or nested brackets. It is not a parser; it never changes what a query means.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rapport.graph.errors import QueryError

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True, slots=True)
class Token:
    """A run of Cypher text: ``kind`` is word, param, string, comment, space or symbol."""

    kind: str
    text: str
    start: int
    depth: int  # bracket depth before this token


def tokens(cypher: str) -> Iterator[Token]:
    """Split ``cypher`` into tokens, tracking bracket depth."""
    i, depth, n = 0, 0, len(cypher)
    while i < n:
        c = cypher[i]
        if c in "'\"`":
            j = _end_of_quoted(cypher, i)
            yield Token("string" if c != "`" else "word", cypher[i:j], i, depth)
        elif cypher.startswith("//", i):
            j = cypher.find("\n", i)
            j = n if j < 0 else j
            yield Token("comment", cypher[i:j], i, depth)
        elif cypher.startswith("/*", i):
            j = cypher.find("*/", i + 2)
            if j < 0:
                raise QueryError("unterminated /* comment in Cypher")
            j += 2
            yield Token("comment", cypher[i:j], i, depth)
        elif c == "$" and (m := _WORD.match(cypher, i + 1)):
            j = m.end()
            yield Token("param", cypher[i:j], i, depth)
        elif m := _WORD.match(cypher, i):
            j = m.end()
            yield Token("word", cypher[i:j], i, depth)
        elif c.isspace():
            j = i + 1
            while j < n and cypher[j].isspace():
                j += 1
            yield Token("space", cypher[i:j], i, depth)
        else:
            j = i + 1
            yield Token("symbol", c, i, depth)
            if c in _OPEN:
                depth += 1
            elif c in _CLOSE:
                depth -= 1
        i = j


def _end_of_quoted(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote:
            if quote == "`" and text.startswith("``", i):
                i += 2
                continue
            return i + 1
        i += 1
    raise QueryError(f"unterminated {quote} quote in Cypher")


def rename_parameters(cypher: str, prefix: str) -> str:
    """Return ``cypher`` with every ``$name`` turned into ``$<prefix>name``."""
    return "".join(f"${prefix}{t.text[1:]}" if t.kind == "param" else t.text for t in tokens(cypher))


_PROJECTION_END = {"ORDER", "SKIP", "LIMIT"}


@dataclass(frozen=True, slots=True)
class ReturnClause:
    """The final top-level ``RETURN`` of a query, split into its parts."""

    before: str  # the query up to the RETURN keyword
    distinct: bool
    items: list[str]
    tail: str  # ORDER BY / SKIP / LIMIT and anything after


def final_return(cypher: str) -> ReturnClause | None:
    """Find the last top-level ``RETURN`` clause of ``cypher``, or ``None``."""
    toks = list(tokens(cypher))
    top_words = [(k, t) for k, t in enumerate(toks) if t.kind == "word" and t.depth == 0]
    returns = [k for k, t in top_words if t.text.upper() == "RETURN"]
    if not returns:
        return None
    r = returns[-1]
    first = r + 1
    while first < len(toks) and toks[first].kind in ("space", "comment"):
        first += 1
    distinct = first < len(toks) and toks[first].kind == "word" and toks[first].text.upper() == "DISTINCT"
    if distinct:
        first += 1
    end = next((k for k, t in top_words if k > r and t.text.upper() in _PROJECTION_END), len(toks))
    items: list[str] = []
    current: list[str] = []
    for t in toks[first:end]:
        if t.kind == "symbol" and t.text == "," and t.depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(t.text)
    items.append("".join(current).strip())
    if any(item == "*" for item in items):
        raise QueryError("RETURN * cannot be used in a multi-statement transaction; name the columns")
    return ReturnClause(
        before="".join(t.text for t in toks[:r]),
        distinct=distinct,
        items=items,
        tail="".join(t.text for t in toks[end:]),
    )


def split_alias(item: str) -> tuple[str, str]:
    """Split a projection item into (expression, column name) as Cypher names it."""
    toks = [t for t in tokens(item) if t.kind not in ("space", "comment")]
    as_keyword = toks[-2] if len(toks) >= 3 else None
    if as_keyword and as_keyword.kind == "word" and as_keyword.text.upper() == "AS" and as_keyword.depth == 0:
        alias = toks[-1].text
        expression = item[: toks[-2].start].rstrip()
        return expression, alias.strip("`")
    return item, item
