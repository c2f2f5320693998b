"""Input values as GraphQL clients send them, turned into what the graph stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rapport.graph.values import epoch_millis
from rapport.resolvers.errors import UserInputError
from rapport.schema.graphql_model import ScalarKind


def stored_value(kind: ScalarKind, value: Any, where: str) -> Any:
    """``value`` converted for comparison with stored properties (DateTime -> epoch ms)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [stored_value(kind, v, where) for v in value]
    if kind is ScalarKind.DATETIME:
        return _millis(value, where)
    if kind in (ScalarKind.INT, ScalarKind.LONG):
        return int(value)
    if kind is ScalarKind.FLOAT:
        return float(value)
    return value


def _millis(value: Any, where: str) -> int:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise UserInputError(f"{where}: {value!r} is not an ISO-8601 date-time", where) from None
    else:
        raise UserInputError(f"{where}: expected an ISO-8601 date-time string", where)
    return epoch_millis(moment)


def datetime_of(millis: int | None) -> dt.datetime | None:
    """The ``DateTime`` a client sees for stored epoch milliseconds (UTC)."""
    if millis is None:
        return None
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def bounded_count(args: Mapping[str, Any], name: str, default: int, most: int, path: str) -> int:
    """The integer argument ``name`` (``default`` when not given), refused unless 1 to ``most``."""
    value = int(args.get(name, default))
    if not 1 <= value <= most:
        raise UserInputError(f"{path}.{name}: must be between 1 and {most}, not {value}", f"{path}.{name}")
    return value
