"""Helpers for the sentences that explain scores: counts, months, spans of days."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

_DAY_MS = 86_400_000


def known(value: Any) -> bool:
    """Whether a feature value is present (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def count(n: Any, singular: str, plural: str | None = None) -> str:
    """``"no tickets"``, ``"1 ticket"``, ``"3 tickets"``."""
    number = round(float(n)) if known(n) else 0
    noun = singular if number == 1 else plural or f"{singular}s"
    return f"{'no' if number == 0 else number} {noun}"


def month(epoch_ms: Any, as_of: Any) -> str:
    """``"March"`` within the year before ``as_of``, else ``"March 2024"``."""
    moment = dt.datetime.fromtimestamp(float(epoch_ms) / 1000, dt.UTC)
    recent = known(as_of) and float(as_of) - float(epoch_ms) < 330 * _DAY_MS
    return moment.strftime("%B") if recent else moment.strftime("%B %Y")


def days(n: Any) -> str:
    """A span of days in words: ``"12 days"``, ``"5 months"``, ``"over 2 years"``."""
    if not known(n):
        return "an unknown time"
    value = float(n)
    if value < 60:
        return count(value, "day")
    if value < 730:
        return count(value / 30.4, "month")
    return f"over {int(value // 365)} years"


def percent(share: Any) -> str:
    return f"{round(100 * float(share))}%" if known(share) else "an unknown share"


def amount(log_value: Any, unit: str) -> str:
    """A number stored as ``log1p`` in words: ``"3,541 employees"``, ``"an unknown number of employees"``."""
    if not known(log_value):
        return f"an unknown number of {unit}"
    return f"{round(math.expm1(float(log_value))):,} {unit}"
