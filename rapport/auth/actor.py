"""The actor: the authenticated caller every resolver and endpoint checks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a caller may do; record rules narrow it further (see the resolvers)."""

    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    SUPPORT = "support"
    MARKETING = "marketing"
    ANALYST = "analyst"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller.

    ``subject`` names who it is for logs and audit trails (``user:<id>``,
    ``apikey:<id>`` or a token's ``sub``); ``user_id`` is the staff ``User``
    node the record rules are evaluated against (``None`` for service
    accounts); ``expires_at`` is when the credential stops being valid, in
    epoch seconds (``None``: it does not expire).
    """

    subject: str
    role: Role
    user_id: str | None = None
    expires_at: float | None = None
