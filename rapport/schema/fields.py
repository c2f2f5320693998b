"""Typed fields: what a property may hold, and the check that enforces it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import email_validator
import phonenumbers
import pycountry

from rapport.graph.values import epoch_millis


class FieldType(StrEnum):
    """The property types of the model (and of custom fields)."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # epoch milliseconds, UTC
    MONEY = "money"  # integer minor units; the currency sits in a sibling field
    CURRENCY = "currency"  # ISO 4217 alphabetic code
    COUNTRY = "country"  # ISO 3166-1 alpha-2 code
    EMAIL = "email"
    PHONE = "phone"  # stored in E.164
    ENUM = "enum"
    STRING_LIST = "string_list"


class FieldRuleError(Exception):
    """A value broke a field's rule; ``rule`` is a short machine-readable name."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


_TEXT_LIMIT = 100_000
_STRING_LIMIT = 1_000
# Timestamps outside this window are almost certainly seconds or microseconds by mistake.
_EARLIEST_MS = epoch_millis(dt.datetime(1900, 1, 1, tzinfo=dt.UTC))
_LATEST_MS = epoch_millis(dt.datetime(2200, 1, 1, tzinfo=dt.UTC))


@dataclass(frozen=True, slots=True)
class Field:
    """One typed property of a label or relationship type."""

    name: str
    type: FieldType
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    currency_field: str | None = None  # for MONEY: the sibling holding its currency

    def check(self, value: Any) -> Any:
        """Return ``value`` normalised for storage, or raise :class:`FieldRuleError`."""
        checker = _CHECKERS[self.type]
        normalised: Any = checker(self, value)
        if self.minimum is not None and normalised < self.minimum:
            raise FieldRuleError("minimum", f"must be at least {self.minimum:g}")
        if self.maximum is not None and normalised > self.maximum:
            raise FieldRuleError("maximum", f"must be at most {self.maximum:g}")
        return normalised


def _string(field: Field, value: Any, default_limit: int = _STRING_LIMIT) -> str:
    if not isinstance(value, str):
        raise FieldRuleError("type", f"must be a string, got {type(value).__name__}")
    text: str = value.strip()
    low = field.min_length if field.min_length is not None else (1 if field.required else 0)
    high = field.max_length if field.max_length is not None else default_limit
    if len(text) < low:
        raise FieldRuleError(
            "min_length",
            "must not be empty" if low == 1 else f"must have at least {low} characters",
        )
    if len(text) > high:
        raise FieldRuleError("max_length", f"must have at most {high} characters")
    return text


def _text(field: Field, value: Any) -> str:
    return _string(field, value, _TEXT_LIMIT)


def _integer(field: Field, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldRuleError("type", f"must be an integer, got {type(value).__name__}")
    if not -(2**63) <= value < 2**63:
        raise FieldRuleError("range", "must fit in 64 bits")
    return value


def _float(field: Field, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldRuleError("type", f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise FieldRuleError("finite", "must be a finite number")
    return float(value)


def _boolean(field: Field, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldRuleError("type", f"must be true or false, got {type(value).__name__}")
    return value


def _timestamp(field: Field, value: Any) -> int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise FieldRuleError("timezone", "must carry a time zone")
        value = epoch_millis(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldRuleError("type", "must be epoch milliseconds (an integer) or an aware datetime")
    if not _EARLIEST_MS <= value < _LATEST_MS:
        raise FieldRuleError("timestamp_range", "must be epoch milliseconds between 1900 and 2200")
    return value


def _money(field: Field, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldRuleError("money", "must be an integer amount of minor units (e.g. cents)")
    return _integer(field, value)


def _currency(field: Field, value: Any) -> str:
    code = _string(field, value).upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise FieldRuleError("currency", "must be an ISO 4217 currency code such as EUR or USD")
    return code


def _country(field: Field, value: Any) -> str:
    code = _string(field, value).upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise FieldRuleError("country", "must be an ISO 3166-1 alpha-2 country code such as DE")
    return code


def _email(field: Field, value: Any) -> str:
    text = _string(field, value)
    try:
        return str(email_validator.validate_email(text, check_deliverability=False).normalized)
    except email_validator.EmailNotValidError as error:
        raise FieldRuleError("email", f"must be a valid email address ({error})") from None


def e164(text: str) -> str | None:
    """``text`` as an E.164 phone number (``+442079460958``); ``None`` when it is not a valid
    international number."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone(field: Field, value: Any) -> str:
    number = e164(_string(field, value))
    if number is None:
        raise FieldRuleError("phone", "must be a valid international phone number such as +44 20 7946 0958")
    return number


def _enum(field: Field, value: Any) -> str:
    if value not in field.choices:
        raise FieldRuleError("enum", f"must be one of {', '.join(field.choices)}")
    return str(value)


def _string_list(field: Field, value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise FieldRuleError("type", f"must be a list of strings, got {type(value).__name__}")
    if not all(isinstance(item, str) for item in value):
        raise FieldRuleError("type", "must be a list of strings")
    if field.max_length is not None and len(value) > field.max_length:
        raise FieldRuleError("max_length", f"must have at most {field.max_length} items")
    return [item.strip() for item in value]


_CHECKERS = {
    FieldType.STRING: _string,
    FieldType.TEXT: _text,
    FieldType.INTEGER: _integer,
    FieldType.FLOAT: _float,
    FieldType.BOOLEAN: _boolean,
    FieldType.TIMESTAMP: _timestamp,
    FieldType.MONEY: _money,
    FieldType.CURRENCY: _currency,
    FieldType.COUNTRY: _country,
    FieldType.EMAIL: _email,
    FieldType.PHONE: _phone,
    FieldType.ENUM: _enum,
    FieldType.STRING_LIST: _string_list,
}
