"""Who is asking: request headers in, an :class:`Actor` out.

Accepted credentials, one per request:

- ``Authorization: Bearer <jwt>``: a token Rapport issued (HS256, the shared
  secret) or one from the OIDC provider at ``RAPPORT_JWKS_URL`` (RS256);
- ``Authorization: Bearer rpk_…`` or ``X-API-Key: rpk_…``: an API key.
"""

from __future__ import annotations

from collections.abc import Mapping

from rapport.auth.actor import Actor
from rapport.auth.api_keys import ApiKeys, is_api_key
from rapport.auth.errors import Unauthenticated
from rapport.auth.jwks import JwksKeys
from rapport.auth.secret import signing_secret
from rapport.auth.staff import StaffAccounts
from rapport.auth.tokens import TokenIssuer, TokenVerifier
from rapport.config import ConfigError, Settings
from rapport.graph.types import GraphStore
from rapport.schema.validation import Schema


class Authenticator:
    """Verifies credentials; also issues tokens for password logins where a secret is configured."""

    def __init__(
        self,
        tokens: TokenVerifier,
        api_keys: ApiKeys,
        staff: StaffAccounts,
        issuer: TokenIssuer | None,
    ) -> None:
        self.tokens = tokens
        self.api_keys = api_keys
        self.staff = staff
        self.issuer = issuer

    @classmethod
    async def from_settings(cls, settings: Settings, store: GraphStore) -> Authenticator:
        """The authenticator these settings describe.

        Raises :class:`ConfigError` when no token could ever be verified: no
        secret (outside the embedded database none is generated, since API
        workers must share it) and no JWKS URL.
        """
        secret = signing_secret(settings)
        if secret is None and settings.jwks_url is None:
            raise ConfigError(
                "RAPPORT_JWT_SECRET: not set; outside the embedded database set it "
                "(shared by every API worker) or RAPPORT_JWKS_URL"
            )
        jwks = JwksKeys(settings.jwks_url) if settings.jwks_url else None
        verifier = TokenVerifier(
            secret=secret, jwks=jwks, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        issuer = None
        if secret is not None:
            issuer = TokenIssuer(secret, settings.token_ttl, settings.jwt_issuer, settings.jwt_audience)
        return cls(verifier, ApiKeys(store), StaffAccounts(store, Schema()), issuer)

    async def authenticate(self, headers: Mapping[str, str]) -> Actor:
        """The actor the request's credential names; :class:`Unauthenticated` if none is valid.

        ``headers`` may be Starlette's ``Headers`` or any mapping (names are
        matched case-insensitively).
        """
        by_name = {name.lower(): value for name, value in headers.items()}
        authorization = by_name.get("authorization")
        api_key = by_name.get("x-api-key")
        if authorization is not None and api_key is not None:
            raise Unauthenticated("send one credential: Authorization or X-API-Key, not both")
        if api_key is not None:
            return await self.api_keys.verify(api_key.strip())
        if authorization is None:
            raise Unauthenticated(
                "authentication required: send Authorization: Bearer <token> or X-API-Key", missing=True
            )
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("the Authorization header must read 'Bearer <token or API key>'")
        if is_api_key(credential):
            return await self.api_keys.verify(credential)
        return await self.tokens.verify(credential)

    async def login(self, email: str, password: str) -> tuple[str, int]:
        """A token for the staff user with these credentials, and its lifetime in seconds."""
        if self.issuer is None:
            raise Unauthenticated("password login is off: tokens come from the identity provider")
        user = await self.staff.login(email, password)
        token = self.issuer.issue(subject=f"user:{user.id}", role=user.role, user_id=user.id)
        return token, self.issuer.ttl
