"""The key that signs callbacks, published as ACS publishes its own.

ACS puts an RS256 JWT on every callback POST; receivers find the verification keys through the
OpenID configuration at ``/calling/.well-known/acsopenidconfiguration``, whose ``jwks_uri``
names ``/calling/keys``. The emulator does the same with a key generated per instance. Its
``issuer`` is the real service's, ``https://acscallautomation.communication.azure.com``, unless
``--issuer`` names another; its ``jwks_uri`` is on the emulator itself, so a receiver that reads
the configuration (or is pointed at the key set) verifies emulator tokens with the emulator's key.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.urls import PublicUrl

ALGORITHM = "RS256"
KEYS_PATH = "/calling/keys"
OPENID_PATH = "/calling/.well-known/acsopenidconfiguration"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class CallbackSigner:
    """One RSA key pair; mints callback tokens and describes the public half as a JWKS."""

    def __init__(self, key_size: int = 2048) -> None:
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        public_der = self._private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # A stable id derived from the key itself, so that a receiver caching keys by kid never
        # mixes up two emulator instances.
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(public_der).digest()[:16]).rstrip(b"=").decode()

    def jwks(self) -> dict[str, Any]:
        numbers = self._private_key.public_key().public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "alg": ALGORITHM,
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }
        return {"keys": [key]}

    def mint(self, *, issuer: str, audience: str, now: datetime, lifetime_seconds: int) -> str:
        """A fresh token: each delivery gets its own, as ACS issues them."""
        claims = {
            "iss": issuer,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=lifetime_seconds),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def openid_configuration(issuer: str, base_url: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "jwks_uri": f"{base_url}{KEYS_PATH}",
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
    }


def key_routes(signer: CallbackSigner, issuer: str, public_url: PublicUrl) -> list[web.RouteDef]:
    """The public key set and the OpenID configuration that names it (no HMAC, as in ACS)."""

    async def get_keys(request: web.Request) -> web.Response:
        return web.json_response(signer.jwks())

    async def get_openid_configuration(request: web.Request) -> web.Response:
        return web.json_response(openid_configuration(issuer, public_url.value))

    return [web.get(KEYS_PATH, get_keys), web.get(OPENID_PATH, get_openid_configuration)]
