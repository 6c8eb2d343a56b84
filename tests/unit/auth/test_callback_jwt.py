"""Callback JWT verification against a real OpenID/JWKS server generated in the test."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web

from bot.auth.callback_jwt import CallbackAuthError, CallbackVerifier, SigningKeysUnavailable
from tests.unit.auth.keyserver import (
    AUDIENCE,
    ISSUER,
    OPENID_PATH,
    KeyServer,
    ServerFactory,
    b64url,
    new_key,
    public_jwk,
    verifier_for,
)


async def test_accepts_a_valid_token_and_returns_its_claims(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    verifier = verifier_for(key_server, session)
    claims = await verifier.verify(f"Bearer {key_server.token(sub='acs')}")
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == "acs"


async def test_the_bearer_scheme_is_case_insensitive(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    verifier = verifier_for(key_server, session)
    assert (await verifier.verify(f"bearer  {key_server.token()}"))["iss"] == ISSUER


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing Authorization header"),
        ("", "missing Authorization header"),
        ("   ", "missing Authorization header"),
        ("Basic dXNlcjpwYXNz", "Authorization is not a Bearer token"),
        ("Bearer", "malformed token"),
        ("Bearer not-a-jwt", "malformed token"),
        ("Bearer a.b.c", "malformed token"),
    ],
)
async def test_refuses_missing_or_malformed_headers(
    key_server: KeyServer, session: aiohttp.ClientSession, authorization: str | None, reason: str
) -> None:
    verifier = verifier_for(key_server, session)
    with pytest.raises(CallbackAuthError) as refused:
        await verifier.verify(authorization)
    assert refused.value.reason == reason


async def test_refuses_alg_none(key_server: KeyServer, session: aiohttp.ClientSession) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300}
    token = jwt.encode(claims, "", algorithm="none", headers={"kid": "k1"})
    with pytest.raises(CallbackAuthError, match="algorithm 'none'"):
        await verifier_for(key_server, session).verify(f"Bearer {token}")


async def test_refuses_hs256_keyed_with_the_public_key(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    # The classic confusion attack: an HMAC "signature" keyed with the published RSA key.
    # PyJWT refuses to make one, so it is assembled here by hand.
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64url(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300}).encode())
    public = json.dumps(public_jwk(key_server.keys["k1"], "k1")).encode()
    mac = hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64url(mac)}"
    with pytest.raises(CallbackAuthError, match="algorithm 'HS256'"):
        await verifier_for(key_server, session).verify(f"Bearer {token}")


async def test_refuses_a_forged_signature(key_server: KeyServer, session: aiohttp.ClientSession) -> None:
    forged = key_server.token("k1", key=new_key())
    with pytest.raises(CallbackAuthError) as refused:
        await verifier_for(key_server, session).verify(f"Bearer {forged}")
    assert refused.value.reason == "bad signature"


async def test_refuses_a_tampered_payload(key_server: KeyServer, session: aiohttp.ClientSession) -> None:
    header, _, signature = key_server.token().split(".")
    payload = b64url(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 9999}).encode())
    token = f"{header}.{payload}.{signature}"
    with pytest.raises(CallbackAuthError, match="bad signature"):
        await verifier_for(key_server, session).verify(f"Bearer {token}")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://evil.example"}, "wrong issuer"),
        ({"aud": "another-resource"}, "wrong audience"),
        ({"exp": int(time.time()) - 3600}, "token expired"),
        ({"nbf": int(time.time()) + 3600}, "token not yet valid"),
    ],
)
async def test_refuses_wrong_claims(
    key_server: KeyServer, session: aiohttp.ClientSession, claims: dict[str, Any], reason: str
) -> None:
    with pytest.raises(CallbackAuthError) as refused:
        await verifier_for(key_server, session).verify(f"Bearer {key_server.token(**claims)}")
    assert refused.value.reason == reason


async def test_a_token_without_expiry_is_refused(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE}, key_server.keys["k1"], "RS256", {"kid": "k1"})
    with pytest.raises(CallbackAuthError, match="'exp' claim"):
        await verifier_for(key_server, session).verify(f"Bearer {token}")


async def test_leeway_accepts_a_token_expired_seconds_ago(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    token = key_server.token(exp=int(time.time()) - 10)
    verifier = verifier_for(key_server, session, leeway_seconds=60)
    assert (await verifier.verify(f"Bearer {token}"))["aud"] == AUDIENCE


async def test_unknown_kid_is_refused_after_one_refresh(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    verifier = verifier_for(key_server, session, min_refresh_seconds=0)
    await verifier.verify(f"Bearer {key_server.token()}")
    with pytest.raises(CallbackAuthError, match="unknown signing key"):
        await verifier.verify(f"Bearer {key_server.token('stranger', key=new_key())}")
    assert key_server.jwks_fetches == 2


async def test_keys_are_fetched_once_and_cached(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    verifier = verifier_for(key_server, session)
    await asyncio.gather(*(verifier.verify(f"Bearer {key_server.token()}") for _ in range(20)))
    for _ in range(5):
        await verifier.verify(f"Bearer {key_server.token()}")
    assert key_server.jwks_fetches == 1


async def test_a_flood_of_forged_kids_does_not_hammer_the_jwks_endpoint(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    verifier = verifier_for(key_server, session)
    await verifier.verify(f"Bearer {key_server.token()}")
    forger = new_key()
    forged = [key_server.token(f"forged-{n}", key=forger) for n in range(50)]
    results = await asyncio.gather(
        *(verifier.verify(f"Bearer {token}") for token in forged), return_exceptions=True
    )
    assert all(isinstance(result, CallbackAuthError) for result in results)
    assert key_server.jwks_fetches == 1
    # The genuine key keeps working throughout.
    assert (await verifier.verify(f"Bearer {key_server.token()}"))["aud"] == AUDIENCE


async def test_a_rotated_key_is_accepted_after_refresh(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    verifier = verifier_for(key_server, session, min_refresh_seconds=0)
    await verifier.verify(f"Bearer {key_server.token('k1')}")
    key_server.keys["k2"] = new_key()
    claims = await verifier.verify(f"Bearer {key_server.token('k2')}")
    assert claims["aud"] == AUDIENCE
    assert key_server.jwks_fetches == 2


async def test_unreachable_keys_are_reported_as_unavailable(session: aiohttp.ClientSession) -> None:
    verifier = CallbackVerifier("http://127.0.0.1:9/openid", AUDIENCE, session)
    token = jwt.encode({"aud": AUDIENCE}, new_key(), "RS256", {"kid": "k1"})
    with pytest.raises(SigningKeysUnavailable):
        await verifier.verify(f"Bearer {token}")


async def test_an_openid_configuration_without_jwks_uri_is_unavailable(
    aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"issuer": ISSUER})

    app = web.Application()
    app.router.add_get(OPENID_PATH, broken)
    server = await aiohttp_server(app)
    verifier = CallbackVerifier(str(server.make_url(OPENID_PATH)), AUDIENCE, session)
    token = jwt.encode({"aud": AUDIENCE}, new_key(), "RS256", {"kid": "k1"})
    with pytest.raises(SigningKeysUnavailable, match="jwks_uri"):
        await verifier.verify(f"Bearer {token}")
