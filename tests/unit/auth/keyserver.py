"""An identity provider half of ACS for the verifier's tests: OpenID configuration + JWKS."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from bot.auth.callback_jwt import CallbackVerifier

AUDIENCE = "7e0c9d55-2a4b-4f7e-9a61-0e51a7000001"
ISSUER = "https://acscallautomation.communication.azure.com"
OPENID_PATH = "/calling/.well-known/acsopenidconfiguration"

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class KeyServer:
    """The identity provider half of ACS: OpenID configuration + JWKS, counting downloads."""

    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    # JWKS entries published as they are, after those of `keys`.
    extra: list[dict[str, Any]] = field(default_factory=list)
    issuer: str = ISSUER
    jwks_fetches: int = 0
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(OPENID_PATH, self._openid)
        app.router.add_get("/calling/keys", self._jwks)
        return app

    async def _openid(self, request: web.Request) -> web.Response:
        return web.json_response({"issuer": self.issuer, "jwks_uri": f"{self.url}/calling/keys"})

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        keys = [public_jwk(key, kid) for kid, key in self.keys.items()]
        # A key type the verifier does not use must be skipped, not break the whole set.
        keys.append({"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0"})
        keys += self.extra
        return web.json_response({"keys": keys})

    def token(self, kid: str = "k1", *, key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300}
        payload.update(claims)
        signer = key or self.keys[kid]
        return jwt.encode(payload, signer, algorithm="RS256", headers={"kid": kid})


def verifier_for(key_server: KeyServer, session: aiohttp.ClientSession, **kwargs: Any) -> CallbackVerifier:
    return CallbackVerifier(key_server.url + OPENID_PATH, AUDIENCE, session, **kwargs)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signed(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, key: rsa.RSAPrivateKey) -> str:
    """A compact JWS of exactly these header and payload bytes, RS256-signed by ``key`` (made by
    hand: PyJWT would refuse odd headers, or warn about short keys)."""
    parts = [part if isinstance(part, bytes) else json.dumps(part).encode() for part in (header, payload)]
    signing_input = f"{b64url(parts[0])}.{b64url(parts[1])}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"
