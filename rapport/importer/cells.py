"""Turn CSV cells (always text) into typed field values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision

from rapport.graph.values import epoch_millis
from rapport.importer.mapping import Defaults
from rapport.schema.fields import Field, FieldRuleError, FieldType

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _decimal(text: str, defaults: Defaults) -> Decimal:
    cleaned = text.replace(defaults.thousands_separator, "") if defaults.thousands_separator else text
    cleaned = cleaned.replace(defaults.decimal_separator, ".").replace(" ", "").replace("\u00a0", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise FieldRuleError("number", f"{text!r} is not a number") from None
    if not value.is_finite():
        raise FieldRuleError("finite", f"{text!r} is not a finite number")
    return value


def _timestamp(text: str, fmt: str) -> int:
    try:
        if fmt == "iso":
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            moment = dt.datetime.strptime(text, fmt)
    except ValueError:
        expected = "an ISO-8601 date or date-time" if fmt == "iso" else f"a date like {fmt!r}"
        raise FieldRuleError("date_format", f"{text!r} is not {expected}") from None
    return epoch_millis(moment)  # naive times are taken as UTC


def parse_cell(text: str, field: Field, defaults: Defaults, *, fmt: str | None, currency: str | None) -> Any:
    """The value of one non-empty cell for ``field``; raises :class:`FieldRuleError`."""
    kind = field.type
    if kind is FieldType.INTEGER:
        number = _decimal(text, defaults)
        if number != number.to_integral_value():
            raise FieldRuleError("type", f"{text!r} is not a whole number")
        return int(number)
    if kind is FieldType.FLOAT:
        return float(_decimal(text, defaults))
    if kind is FieldType.MONEY:
        if currency is None:
            raise FieldRuleError("currency_required", "needs a currency (column or [defaults] currency)")
        try:
            digits = get_currency_precision(currency)
        except Exception:  # babel raises for unknown codes; the currency field reports it
            digits = 2
        minor = _decimal(text, defaults).scaleb(digits)
        if minor != minor.to_integral_value():
            raise FieldRuleError("money", f"{text!r} has more decimals than {currency} allows")
        return int(minor)
    if kind is FieldType.BOOLEAN:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise FieldRuleError("type", f"{text!r} is not true/false")
    if kind is FieldType.TIMESTAMP:
        return _timestamp(text, fmt or defaults.date_format)
    if kind is FieldType.STRING_LIST:
        return [part.strip() for part in text.split(";") if part.strip()]
    return text
