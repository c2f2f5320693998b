"""A Cypher expression that fails its query at run time unless a condition holds.

Cypher cannot raise an error with a message of its own. ``range()`` with a zero
step is a runtime error on both backends, and a runtime error rolls the whole
query back, so nothing it wrote stays. The condition must depend on the rows
(a constant one is folded while the query is planned). Callers recognise the
failure with :func:`is_failed_check` and raise an error that says what failed.
"""

from __future__ import annotations

# How each backend words the error (FalkorDB, then Neo4j), lower-cased.
_ERRORS = ("step argument to range() can't be 0", "step argument to 'range()' cannot be zero")


def check(condition: str) -> str:
    """An expression that evaluates to an empty list when ``condition`` holds and fails otherwise."""
    return f"range(0, 0, CASE WHEN {condition} THEN 1 ELSE 0 END)"


def is_failed_check(error: Exception) -> bool:
    """Did ``error`` come from a :func:`check` whose condition did not hold?"""
    message = str(error).lower()
    return any(wording in message for wording in _ERRORS)
