"""Verifying the `Authorization: Bearer <JWT>` that ACS puts on every callback POST.

ACS signs callbacks with RS256 keys listed in the JWKS named by its OpenID configuration; the
token's `iss` is that configuration's issuer and its `aud` the ACS resource's immutable id.

The keys are kept as `cryptography` public keys (PyJWT only reads the JWKS entries); each token is
taken apart and its signature checked by `bot.auth.jws`, its claims by `bot.auth.claims`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from bot.auth import jws
from bot.auth.claims import ClaimError, check_claims

log = logging.getLogger(f"roombot.{__name__}")

ALGORITHM = "RS256"
# A flood of tokens with forged `kid`s must not turn into a flood of JWKS downloads.
DEFAULT_MIN_REFRESH_SECONDS = 10.0
# Even without an unknown kid, reload the keys now and then so that a withdrawn key stops working.
DEFAULT_MAX_KEY_AGE_SECONDS = 24 * 3600.0
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)
# NIST SP 800-131A: RSA keys under 2048 bits are not acceptable for signatures (PyJWT warned).
MIN_KEY_BITS = 2048


class CallbackAuthError(Exception):
    """The callback's token is not acceptable; `reason` says why (safe to log, not a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SigningKeysUnavailable(CallbackAuthError):
    """The OpenID configuration or JWKS could not be loaded: no token can be checked right now.

    A route may answer 503 instead of 401 so that the sender retries later.
    """


@dataclass
class _KeyCache:
    issuer: str | None = None
    keys: dict[str, RSAPublicKey] = field(default_factory=dict)
    loaded_at: float | None = None


class CallbackVerifier:
    """Checks callback JWTs against the OpenID configuration at `openid_config_url`."""

    def __init__(
        self,
        openid_config_url: str,
        audience: str,
        session: aiohttp.ClientSession,
        *,
        leeway_seconds: float = 60,
        min_refresh_seconds: float = DEFAULT_MIN_REFRESH_SECONDS,
        max_key_age_seconds: float = DEFAULT_MAX_KEY_AGE_SECONDS,
    ) -> None:
        self._openid_config_url = openid_config_url
        self._audience = audience
        self._session = session
        self._leeway = leeway_seconds
        self._min_refresh = min_refresh_seconds
        self._max_key_age = max_key_age_seconds
        self._cache = _KeyCache()
        self._lock = asyncio.Lock()
        self._last_attempt: float | None = None

    async def verify(self, authorization: str | None) -> dict[str, Any]:
        """Return the token's claims, or raise CallbackAuthError saying why it was refused."""
        token = _bearer_token(authorization)
        if not token.isascii():
            # A JWT is base64url text; aiohttp hands header bytes that are not UTF-8 as surrogates.
            raise CallbackAuthError("malformed token")
        try:
            # Every segment is checked before any key is looked up: garbage never costs a download.
            token_parts = jws.split(token)
        except jws.MalformedToken:
            raise CallbackAuthError("malformed token") from None
        header = token_parts.header
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise CallbackAuthError(f"algorithm {alg!r} is not accepted, only {ALGORITHM}")
        # RFC 7515 §4.1.11: an extension marked critical that the bot does not know (it knows
        # none, e.g. not the unencoded payload of RFC 7797) makes the token unacceptable.
        if "crit" in header or header.get("b64", True) is not True:
            raise CallbackAuthError("malformed token")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise CallbackAuthError("token names no signing key (kid)")
        key, issuer = await self._key_for(kid)
        try:
            claims = jws.verify_rs256(token_parts, key)
        except jws.InvalidSignature:
            raise CallbackAuthError("bad signature") from None
        except jws.MalformedToken:
            raise CallbackAuthError("malformed token") from None
        try:
            check_claims(claims, issuer=issuer, audience=self._audience, now=time.time(), leeway=self._leeway)
        except ClaimError as exc:
            raise CallbackAuthError(exc.reason) from None
        return claims

    async def _key_for(self, kid: str) -> tuple[RSAPublicKey, str]:
        loaded_at = self._cache.loaded_at
        if loaded_at is None or time.monotonic() - loaded_at > self._max_key_age:
            await self._refresh(only_if_stale=True)
        if kid not in self._cache.keys:
            await self._refresh(only_if_stale=False)
        key = self._cache.keys.get(kid)
        if key is None or self._cache.issuer is None:
            raise CallbackAuthError("unknown signing key")
        return key, self._cache.issuer

    async def _refresh(self, *, only_if_stale: bool) -> None:
        async with self._lock:
            now = time.monotonic()
            loaded_at = self._cache.loaded_at
            # Re-checked under the lock: concurrent callers wait for one download and share it.
            if only_if_stale and loaded_at is not None and now - loaded_at <= self._max_key_age:
                return
            if self._last_attempt is not None and now - self._last_attempt < self._min_refresh:
                if loaded_at is None:
                    raise SigningKeysUnavailable("signing keys unavailable")
                return
            self._last_attempt = now
            try:
                self._cache = await self._download()
            except SigningKeysUnavailable:
                # Keys already known stay usable while the endpoint is down.
                if loaded_at is None:
                    raise

    async def _download(self) -> _KeyCache:
        try:
            config = await self._get_json(self._openid_config_url)
            issuer = config.get("issuer")
            jwks_uri = config.get("jwks_uri")
            if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                raise SigningKeysUnavailable("OpenID configuration lacks issuer or jwks_uri")
            jwks = await self._get_json(jwks_uri)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("cannot load callback signing keys from %s: %s", self._openid_config_url, exc)
            raise SigningKeysUnavailable("signing keys unavailable") from exc
        keys = _parse_jwks(jwks)
        log.info("loaded %d callback signing key(s) from %s", len(keys), self._openid_config_url)
        return _KeyCache(issuer=issuer, keys=keys, loaded_at=time.monotonic())

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with self._session.get(url, timeout=FETCH_TIMEOUT) as response:
            response.raise_for_status()
            body = await response.json(content_type=None)
        if not isinstance(body, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return body


def _bearer_token(authorization: str | None) -> str:
    if authorization is None or not authorization.strip():
        raise CallbackAuthError("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise CallbackAuthError("Authorization is not a Bearer token")
    token = token.strip()
    if not token:
        raise CallbackAuthError("malformed token")
    return token


def _parse_jwks(jwks: dict[str, Any]) -> dict[str, RSAPublicKey]:
    """Keep the RSA keys that have a kid, as `cryptography` key objects ready to verify with; skip
    (and log) any other entry instead of failing all."""
    keys: dict[str, RSAPublicKey] = {}
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise SigningKeysUnavailable("JWKS has no keys list")
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        try:
            key = jwt.PyJWK(entry, algorithm=ALGORITHM).key
        except jwt.PyJWTError as exc:
            log.warning("skipping unusable JWKS key %s: %s", entry.get("kid"), exc)
            continue
        # A JWKS entry that (wrongly) carries the private part still only verifies.
        public = key.public_key() if isinstance(key, RSAPrivateKey) else key
        if not isinstance(public, RSAPublicKey) or public.key_size < MIN_KEY_BITS:
            log.warning(
                "skipping JWKS key %s: not an RSA key of %d bits or more", entry.get("kid"), MIN_KEY_BITS
            )
            continue
        keys[str(entry["kid"])] = public
    return keys
