"""JWT bearer tokens: issued with HS256 by Rapport, or RS256 from an OIDC provider.

Claims: ``sub`` (who, for audit trails), ``role`` (a :class:`Role`), ``uid``
(the staff ``User`` id, optional), ``iat`` and ``exp``; ``iss`` and ``aud``
when configured. The verifier picks the key by the token's algorithm, never
the other way round: an HS256 token is checked against the shared secret
only, an RS256 token against the provider's published keys only, so a public
key can never be used as an HMAC secret.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from rapport.auth.actor import Actor, Role
from rapport.auth.errors import Unauthenticated
from rapport.auth.jwks import JwksKeys
from rapport.auth.secret import signing_secret
from rapport.config import ConfigError, Settings
from rapport.lru import LRU

_HS256 = "HS256"
_RS256 = "RS256"
_LEEWAY_S = 30  # clock skew tolerated between Rapport and an identity provider


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    """Signs Rapport's own tokens (HS256)."""

    secret: str
    ttl: int
    issuer: str | None = None
    audience: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenIssuer:
        """The issuer of these settings; :class:`ConfigError` when there is no signing secret."""
        secret = signing_secret(settings)
        if secret is None:
            raise ConfigError("RAPPORT_JWT_SECRET: not set; issuing tokens needs a signing secret")
        return cls(secret, settings.token_ttl, settings.jwt_issuer, settings.jwt_audience)

    def issue(
        self,
        *,
        subject: str,
        role: Role,
        user_id: str | None = None,
        ttl: int | None = None,
        now: float | None = None,
    ) -> str:
        """A signed token for ``subject`` acting as ``role``, valid ``ttl`` seconds from ``now``."""
        issued_at = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": subject,
            "role": role.value,
            "iat": issued_at,
            "exp": issued_at + (self.ttl if ttl is None else ttl),
        }
        if user_id is not None:
            claims["uid"] = user_id
        if self.issuer is not None:
            claims["iss"] = self.issuer
        if self.audience is not None:
            claims["aud"] = self.audience
        return jwt.encode(claims, self.secret, algorithm=_HS256)


class TokenVerifier:
    """Turns a bearer token into an :class:`Actor`, or raises :class:`Unauthenticated`."""

    def __init__(
        self,
        *,
        secret: str | None,
        jwks: JwksKeys | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        self._secret = secret
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        # Clients send the same token with every request: verifying its signature once is enough
        # until it expires (a JWT cannot be revoked before that anyway).
        self._verified: LRU[Actor] = LRU(10_000)

    async def verify(self, token: str) -> Actor:
        """The actor a valid token names."""
        known = self._verified.get(token)
        if known is not None and known.expires_at is not None and known.expires_at > time.time():
            return known
        actor = await self._verify(token)
        self._verified.put(token, actor)
        return actor

    async def _verify(self, token: str) -> Actor:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise Unauthenticated("malformed bearer token") from None
        algorithm = header.get("alg")
        key: Any
        if algorithm == _HS256 and self._secret is not None:
            key = self._secret
        elif algorithm == _RS256 and self._jwks is not None:
            key = await self._jwks.key(header.get("kid"))
        else:
            raise Unauthenticated(f"tokens signed with {algorithm} are not accepted")
        return _actor(self._decode(token, key, algorithm))

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=_LEEWAY_S,
                options={"require": ["sub", "exp", "iat"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("token signature is invalid") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("token issuer is not accepted") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("token audience is not accepted") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"token lacks the {error.claim!r} claim") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token is not valid yet") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"invalid bearer token: {error}") from None
        return claims


def _actor(claims: dict[str, Any]) -> Actor:
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthenticated("token has no valid 'role' claim") from None
    user_id = claims.get("uid")
    if user_id is not None and not isinstance(user_id, str):
        raise Unauthenticated("token's 'uid' claim is not a string")
    return Actor(subject=str(claims["sub"]), role=role, user_id=user_id, expires_at=float(claims["exp"]))
