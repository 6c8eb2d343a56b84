"""Verifying the `Authorization: Bearer <JWT>` that ACS puts on every callback POST.

ACS signs callbacks with RS256 keys listed in the JWKS named by its OpenID configuration; the
token's `iss` is that configuration's issuer and its `aud` the ACS resource's immutable id.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt

log = logging.getLogger(f"roombot.{__name__}")

ALGORITHM = "RS256"
# A flood of tokens with forged `kid`s must not turn into a flood of JWKS downloads.
DEFAULT_MIN_REFRESH_SECONDS = 10.0
# Even without an unknown kid, reload the keys now and then so that a withdrawn key stops working.
DEFAULT_MAX_KEY_AGE_SECONDS = 24 * 3600.0
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)


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
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
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
        header = _unverified_header(token)
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise CallbackAuthError(f"algorithm {alg!r} is not accepted, only {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise CallbackAuthError("token names no signing key (kid)")
        key, issuer = await self._key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidSignatureError as exc:
            raise CallbackAuthError("bad signature") from exc
        except jwt.ExpiredSignatureError as exc:
            raise CallbackAuthError("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise CallbackAuthError("token not yet valid") from exc
        except jwt.InvalidIssuerError as exc:
            raise CallbackAuthError("wrong issuer") from exc
        except jwt.InvalidAudienceError as exc:
            raise CallbackAuthError("wrong audience") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise CallbackAuthError(f"token lacks the {exc.claim!r} claim") from exc
        except jwt.PyJWTError as exc:
            raise CallbackAuthError("malformed token") from exc
        return claims

    async def _key_for(self, kid: str) -> tuple[jwt.PyJWK, str]:
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


def _parse_jwks(jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """Keep the RSA keys that have a kid; skip (and log) any other entry instead of failing all."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise SigningKeysUnavailable("JWKS has no keys list")
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm=ALGORITHM)
        except jwt.PyJWTError as exc:
            log.warning("skipping unusable JWKS key %s: %s", entry.get("kid"), exc)
    return keys


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, read to choose the key; `jwt.decode` then checks the whole token.

    Only the short header segment is decoded here: PyJWT's own `get_unverified_header` validates
    every segment character by character in Python, and `decode` does that again, which made the
    signature segment the costliest part of a callback."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise CallbackAuthError("malformed token") from exc
    if not isinstance(header, dict):
        raise CallbackAuthError("malformed token")
    return header
