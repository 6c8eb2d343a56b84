"""What the callback verifier refuses (or accepts) about a token's shape, header, claims and keys,
one case at a time, against a real key server."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.auth.callback_jwt import CallbackAuthError
from tests.unit.auth.keyserver import AUDIENCE, ISSUER, KeyServer, b64url, new_key, signed, verifier_for

HEADER = {"alg": "RS256", "typ": "JWT", "kid": "k1"}


def good_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300, **changes}


async def refusal(key_server: KeyServer, session: aiohttp.ClientSession, token: str) -> str:
    with pytest.raises(CallbackAuthError) as refused:
        await verifier_for(key_server, session).verify(f"Bearer {token}")
    return refused.value.reason


def with_last_char(segment: str, char: str) -> str:
    return segment[:-1] + char


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda token: token + "=", id="padded-signature"),
        pytest.param(lambda token: token.replace("-", "+").replace("_", "/") + "+/", id="standard-alphabet"),
        pytest.param(lambda token: token + ".extra", id="four-segments"),
        pytest.param(lambda token: token.rsplit(".", 1)[0], id="two-segments"),
        pytest.param(lambda token: "." + token.split(".", 1)[1], id="empty-header"),
        pytest.param(lambda token: token[:-1], id="signature-of-impossible-length"),
    ],
)
async def test_a_token_not_made_of_three_base64url_segments_is_malformed(
    key_server: KeyServer, session: aiohttp.ClientSession, spoil: Any
) -> None:
    token = spoil(key_server.token())
    assert await refusal(key_server, session, token) == "malformed token"


async def test_a_second_spelling_of_the_same_signature_is_refused(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    token = key_server.token()
    # 256 signature bytes take 342 characters: the last one carries 4 unused bits, zero when canonical.
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = alphabet[alphabet.index(last) | 1]
    assert other != last
    assert await refusal(key_server, session, with_last_char(token, other)) == "malformed token"
    # The canonical spelling is still good.
    assert (await verifier_for(key_server, session).verify(f"Bearer {token}"))["aud"] == AUDIENCE


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"[1, 2]", "malformed token"),
        (b"not json", "malformed token"),
        ({**HEADER, "crit": ["exp"], "exp": 1}, "malformed token"),
        ({**HEADER, "b64": False, "crit": ["b64"]}, "malformed token"),
        ({**HEADER, "kid": 7}, "token names no signing key (kid)"),
        ({"alg": "RS256"}, "token names no signing key (kid)"),
        ({**HEADER, "alg": "RS512"}, "algorithm 'RS512' is not accepted, only RS256"),
        ({**HEADER, "alg": "PS256"}, "algorithm 'PS256' is not accepted, only RS256"),
    ],
    ids=["array", "not-json", "crit", "unencoded-payload", "kid-number", "no-kid", "rs512", "ps256"],
)
async def test_a_header_the_bot_cannot_accept_is_refused(
    key_server: KeyServer, session: aiohttp.ClientSession, header: dict[str, Any] | bytes, reason: str
) -> None:
    token = signed(header, good_claims(), key_server.keys["k1"])
    assert await refusal(key_server, session, token) == reason


async def test_a_tampered_header_breaks_the_signature(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    _, payload, signature = key_server.token().split(".")
    header = b64url(json.dumps({**HEADER, "typ": "at+jwt"}).encode())
    assert await refusal(key_server, session, f"{header}.{payload}.{signature}") == "bad signature"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iat": int(time.time()) + 3600}, "token not yet valid"),
        ({"exp": "tomorrow"}, "malformed token"),
        ({"exp": True}, "malformed token"),
        ({"nbf": [1]}, "malformed token"),
        ({"iss": None}, "token lacks the 'iss' claim"),
        ({"iss": 42}, "wrong issuer"),
        ({"aud": ""}, "token lacks the 'aud' claim"),
        ({"aud": []}, "token lacks the 'aud' claim"),
        ({"aud": ["another-resource"]}, "wrong audience"),
        ({"aud": [AUDIENCE, 5]}, "wrong audience"),
        ({"aud": {"id": AUDIENCE}}, "wrong audience"),
        ({"sub": 12}, "malformed token"),
        ({"jti": {"id": 1}}, "malformed token"),
    ],
    ids=[
        "issued-in-the-future",
        "exp-text",
        "exp-boolean",
        "nbf-array",
        "iss-null",
        "iss-number",
        "aud-empty",
        "aud-empty-list",
        "aud-list-without-ours",
        "aud-list-with-a-number",
        "aud-object",
        "sub-number",
        "jti-object",
    ],
)
async def test_claims_the_bot_cannot_accept_are_refused(
    key_server: KeyServer, session: aiohttp.ClientSession, changes: dict[str, Any], reason: str
) -> None:
    token = signed(HEADER, good_claims(**changes), key_server.keys["k1"])
    assert await refusal(key_server, session, token) == reason


async def test_an_audience_list_naming_the_bot_is_accepted(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    token = signed(HEADER, good_claims(aud=["another-resource", AUDIENCE]), key_server.keys["k1"])
    assert (await verifier_for(key_server, session).verify(f"Bearer {token}"))["iss"] == ISSUER


async def test_a_signed_payload_that_is_not_an_object_is_malformed(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    token = signed(HEADER, b'["iss", "aud", "exp"]', key_server.keys["k1"])
    assert await refusal(key_server, session, token) == "malformed token"


async def test_a_bot_without_an_audience_accepts_no_token(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    verifier = verifier_for(key_server, session)
    verifier._audience = ""
    token = signed(HEADER, good_claims(aud=["", AUDIENCE]), key_server.keys["k1"])
    with pytest.raises(CallbackAuthError, match="wrong audience"):
        await verifier.verify(f"Bearer {token}")


async def test_a_malformed_token_never_costs_a_key_download(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    tokens = ("a.b.c", key_server.token() + "=", "eyJhbGciOiJSUzI1NiJ9.e30.!!")
    assert [await refusal(key_server, session, token) for token in tokens] == ["malformed token"] * 3
    assert key_server.jwks_fetches == 0


async def test_a_key_published_with_its_private_part_still_only_verifies(
    key_server: KeyServer, session: aiohttp.ClientSession
) -> None:
    leaked = new_key()
    key_server.extra.append({**json.loads(RSAAlgorithm.to_jwk(leaked)), "kid": "leaky"})
    token = signed({**HEADER, "kid": "leaky"}, good_claims(), leaked)
    assert (await verifier_for(key_server, session).verify(f"Bearer {token}"))["aud"] == AUDIENCE


async def test_a_short_rsa_key_is_not_trusted(key_server: KeyServer, session: aiohttp.ClientSession) -> None:
    # Short on purpose: the point is that the verifier will not trust it.
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    key_server.extra.append({**json.loads(RSAAlgorithm.to_jwk(short.public_key())), "kid": "short"})
    token = signed({**HEADER, "kid": "short"}, good_claims(), short)
    assert await refusal(key_server, session, token) == "unknown signing key"
