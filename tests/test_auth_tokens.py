"""Bearer tokens: Rapport's own (HS256) and an OIDC provider's (RS256, keys from a JWKS URL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rapport.auth.actor import Actor, Role
from rapport.auth.errors import Unauthenticated
from rapport.auth.jwks import JwksKeys
from rapport.auth.tokens import TokenIssuer, TokenVerifier
from tests.http_server import serving

SECRET = "a-test-signing-secret-that-is-long-enough"
NOW = int(time.time())
issuer = TokenIssuer(SECRET, ttl=3600)
verifier = TokenVerifier(secret=SECRET)


def handmade(header: dict[str, Any], claims: dict[str, Any], sign: bytes = b"") -> str:
    """A token built by hand; with ``sign``, HMAC-SHA256-signed with it, else with a bogus signature."""
    encode = jwt.utils.base64url_encode
    signed = encode(json.dumps(header).encode()) + b"." + encode(json.dumps(claims).encode())
    signature = hmac.new(sign, signed, hashlib.sha256).digest() if sign else b"bogus"
    return (signed + b"." + encode(signature)).decode()


async def test_a_token_round_trips_into_the_actor_it_names() -> None:
    token = issuer.issue(subject="user:u1", role=Role.SALES, user_id="u1", now=10**9)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims == {"sub": "user:u1", "role": "sales", "uid": "u1", "iat": 10**9, "exp": 10**9 + 3600}

    fresh = issuer.issue(subject="user:u1", role=Role.SALES, user_id="u1")
    actor = await verifier.verify(fresh)
    assert (actor.subject, actor.role, actor.user_id) == ("user:u1", Role.SALES, "u1")
    assert actor.expires_at == pytest.approx(time.time() + 3600, abs=5)


async def test_a_service_token_has_no_user() -> None:
    actor = await verifier.verify(issuer.issue(subject="service:etl", role=Role.ANALYST, ttl=60))
    assert actor == Actor("service:etl", Role.ANALYST, None, actor.expires_at)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (issuer.issue(subject="s", role=Role.ADMIN, now=time.time() - 7200), "token expired"),
        (TokenIssuer("another-secret-that-is-also-long-enough", 60).issue(subject="s", role=Role.ADMIN),
         "token signature is invalid"),
        (jwt.encode({"sub": "s", "role": "root", "iat": NOW, "exp": NOW + 86_400}, SECRET),
         "token has no valid 'role' claim"),
        (jwt.encode({"sub": "s", "role": "admin", "iat": NOW}, SECRET), "token lacks the 'exp' claim"),
        (jwt.encode({"sub": "s", "role": "admin", "exp": 2**40}, SECRET * 2, algorithm="HS512"),
         "tokens signed with HS512 are not accepted"),
        (handmade({"alg": "none"}, {"sub": "s", "role": "admin", "exp": 2**40}),
         "tokens signed with none are not accepted"),
        ("not-a-jwt", "malformed bearer token"),
    ],
    ids=["expired", "wrong-signature", "unknown-role", "no-exp", "other-algorithm", "unsigned", "garbage"],
)  # fmt: skip
async def test_bad_tokens_are_refused_with_the_reason(token: str, reason: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    assert refused.value.reason == reason


async def test_issuer_and_audience_are_checked_when_configured() -> None:
    checked = TokenVerifier(secret=SECRET, issuer="https://rapport.example", audience="rapport-api")
    ours = TokenIssuer(SECRET, 60, "https://rapport.example", "rapport-api")
    assert (await checked.verify(ours.issue(subject="s", role=Role.VIEWER))).role is Role.VIEWER

    for other, reason in [
        (TokenIssuer(SECRET, 60, "https://evil.example", "rapport-api"), "token issuer is not accepted"),
        (TokenIssuer(SECRET, 60, "https://rapport.example", "other-api"), "token audience is not accepted"),
        (TokenIssuer(SECRET, 60), "token lacks the 'iss' claim"),
    ]:
        with pytest.raises(Unauthenticated, match=reason):
            await checked.verify(other.issue(subject="s", role=Role.VIEWER))


# -- RS256 from an identity provider ------------------------------------------------------


@dataclass
class IdentityProvider:
    """A real HTTP server publishing a JWKS; ``rotate`` swaps in a new signing key."""

    url: str = ""
    keys: list[tuple[str, rsa.RSAPrivateKey]] = field(default_factory=list)
    requests: int = 0

    def rotate(self, kid: str) -> None:
        self.keys = [(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))]

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {
                    **RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
                    "kid": kid,
                    "use": "sig",
                    "alg": "RS256",
                }
                for kid, key in self.keys
            ]
        }

    def token(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        kid = kid or self.keys[0][0]
        key = dict(self.keys)[kid]
        now = int(time.time())
        return jwt.encode(
            {"iat": now, "exp": now + 300, **claims}, key, algorithm="RS256", headers={"kid": kid}
        )


@pytest_asyncio.fixture(scope="module")
async def provider() -> AsyncIterator[IdentityProvider]:
    idp = IdentityProvider()
    idp.rotate("key-1")

    async def jwks(request: Request) -> JSONResponse:
        idp.requests += 1
        return JSONResponse(idp.jwks())

    async with serving(Starlette(routes=[Route("/.well-known/jwks.json", jwks)])) as base_url:
        idp.url = f"{base_url}/.well-known/jwks.json"
        yield idp


async def test_rs256_tokens_are_verified_against_the_published_keys(provider: IdentityProvider) -> None:
    provider.rotate("key-a")
    keys = JwksKeys(provider.url)
    oidc = TokenVerifier(secret=None, jwks=keys, issuer="https://idp.example", audience="rapport")
    claims = {"iss": "https://idp.example", "aud": "rapport"}
    token = provider.token({"sub": "ada@idp", "role": "analyst", **claims})
    actor = await oidc.verify(token)
    assert (actor.subject, actor.role) == ("ada@idp", Role.ANALYST)
    await oidc.verify(token)
    assert keys.fetches == 1  # cached

    wrong_audience = provider.token({"sub": "a", "role": "analyst", **claims, "aud": "x"})
    with pytest.raises(Unauthenticated, match="audience"):
        await oidc.verify(wrong_audience)
    with pytest.raises(Unauthenticated, match="tokens signed with HS256 are not accepted"):
        await oidc.verify(issuer.issue(subject="s", role=Role.ADMIN))


async def test_an_unknown_key_id_refetches_the_keys_once_in_a_while(provider: IdentityProvider) -> None:
    provider.rotate("key-old")
    keys = JwksKeys(provider.url, refetch_interval=0)
    oidc = TokenVerifier(secret=None, jwks=keys)
    await oidc.verify(provider.token({"sub": "a", "role": "viewer"}))

    provider.rotate("key-new")  # the provider rotated its keys
    assert (await oidc.verify(provider.token({"sub": "b", "role": "viewer"}))).subject == "b"
    assert keys.fetches == 2

    throttled = TokenVerifier(secret=None, jwks=JwksKeys(provider.url, refetch_interval=60))
    await throttled.verify(provider.token({"sub": "c", "role": "viewer"}))
    requests = provider.requests
    for n in range(3):
        made_up = handmade({"alg": "RS256", "kid": f"made-up-{n}"}, {"sub": "m", "role": "admin"})
        with pytest.raises(Unauthenticated, match=f"token signed with an unknown key \\(made-up-{n}\\)"):
            await throttled.verify(made_up)
    assert provider.requests == requests  # made-up key ids do not make Rapport hammer the provider


async def test_a_public_key_cannot_serve_as_an_hmac_secret(provider: IdentityProvider) -> None:
    """The classic algorithm confusion: HS256 signed with the provider's public key."""
    provider.rotate("key-c")
    public_pem = (
        provider.keys[0][1]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    both = TokenVerifier(secret=SECRET, jwks=JwksKeys(provider.url))
    claims = {"sub": "m", "role": "admin", "iat": int(time.time()), "exp": int(time.time()) + 60}
    forged = handmade({"alg": "HS256", "kid": "key-c"}, claims, sign=public_pem)
    with pytest.raises(Unauthenticated, match="token signature is invalid"):
        await both.verify(forged)


async def test_an_unreachable_provider_is_a_clear_refusal() -> None:
    keys = JwksKeys("http://127.0.0.1:9/jwks.json")
    token = handmade({"alg": "RS256", "kid": "k"}, {"sub": "a", "role": "admin"})
    with pytest.raises(
        Unauthenticated, match=r"signing keys unavailable from http://127\.0\.0\.1:9/jwks\.json"
    ):
        await TokenVerifier(secret=None, jwks=keys).verify(token)
