"""`POST /api/callbacks` refuses every token ACS did not sign for this bot, and a refused
callback changes nothing, even when it carries an event that would have ended the call."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.testing import RoomBot, cloud_event
from emulator.keys import SIGNER
from tests.e2e.helpers import LiveCall, assert_problem, end_unheard

TokenMaker = Callable[[RoomBot], str | None]


@cache
def stranger_key() -> rsa.RSAPrivateKey:
    """An RSA key the emulator never published."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(roombot: RoomBot, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {
        "iss": roombot.emulator.url,
        "aud": roombot.emulator.config.resource_id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    return {**base, **changes}


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"


def forged_signature(roombot: RoomBot) -> str:
    # Right kid, right claims, wrong private key.
    kid = roombot.emulator.app[SIGNER].kid
    return jwt.encode(claims(roombot), stranger_key(), algorithm="RS256", headers={"kid": kid})


def alg_none(roombot: RoomBot) -> str:
    kid = roombot.emulator.app[SIGNER].kid
    return unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims(roombot)) + "."


def hs256_with_public_key(roombot: RoomBot) -> str:
    # The classic confusion attack: the published RSA key used as an HMAC secret.
    jwk = roombot.emulator.app[SIGNER].jwks()["keys"][0]
    public_key = jwt.PyJWK(jwk).key
    secret = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}, claims(roombot))
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def wrong_audience(roombot: RoomBot) -> str:
    return roombot.emulator.app[SIGNER].mint(
        issuer=roombot.emulator.config.issuer,
        audience="another-resource",
        now=datetime.now(UTC),
        lifetime_seconds=300,
    )


def wrong_issuer(roombot: RoomBot) -> str:
    return roombot.emulator.app[SIGNER].mint(
        issuer="https://issuer.example", audience=roombot.emulator.config.resource_id,
        now=datetime.now(UTC), lifetime_seconds=300,
    )  # fmt: skip


def expired(roombot: RoomBot) -> str:
    # Expired ten minutes ago: well past any clock-skew leeway.
    return roombot.emulator.app[SIGNER].mint(
        issuer=roombot.emulator.config.issuer, audience=roombot.emulator.config.resource_id,
        now=datetime.now(UTC) - timedelta(minutes=15), lifetime_seconds=300,
    )  # fmt: skip


def unknown_kid(roombot: RoomBot) -> str:
    return jwt.encode(
        claims(roombot), stranger_key(), algorithm="RS256", headers={"kid": "not-a-published-key"}
    )


# Each bad token, and a word of the reason the bot must give for refusing it.
NEGATIVES: dict[str, tuple[TokenMaker, str]] = {
    "missing": (lambda roombot: None, "missing"),
    "garbage": (lambda roombot: "not.a.jwt", "malformed"),
    "forged-signature": (forged_signature, "signature"),
    "alg-none": (alg_none, "algorithm"),
    "hs256-with-public-key": (hs256_with_public_key, "algorithm"),
    "wrong-audience": (wrong_audience, "audience"),
    "wrong-issuer": (wrong_issuer, "issuer"),
    "expired": (expired, "expired"),
    "unknown-kid": (unknown_kid, "unknown signing key"),
}


def call_disconnected(live_call: LiveCall) -> dict[str, Any]:
    """The event ACS sends when the call ends: it would finish the call in the registry."""
    return cloud_event(
        live_call.id,
        "CallDisconnected",
        {
            "serverCallId": live_call.call["serverCallId"],
            "correlationId": "3f1f2c3e-0000-4000-8000-000000000001",
            "resultInformation": {"code": 200, "subCode": 7000, "message": "The call was ended."},
        },
    )


@pytest.mark.parametrize(("make_token", "reason"), NEGATIVES.values(), ids=NEGATIVES.keys())
async def test_a_bad_token_is_401_and_changes_nothing(
    live_call: LiveCall, roombot: RoomBot, make_token: TokenMaker, reason: str
) -> None:
    event = call_disconnected(live_call)
    token = make_token(roombot)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    before = await roombot.call(live_call.id)

    reply = await roombot.request("POST", "/api/callbacks", json=[event], headers=headers)

    assert reason in assert_problem(reply, 401)["detail"]
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert await roombot.call(live_call.id) == before
    await roombot.settle(live_call.id)
    after = await roombot.call(live_call.id)
    assert after is not None
    assert after["state"] == "connected"
    assert event["id"] not in [entry["id"] for entry in after["events"]]
    # The refusal did not mark the event as seen: delivered properly, it ends the call.
    await end_unheard(roombot, live_call)
    accepted = await roombot.post_callbacks([event])
    assert accepted.body == {"received": 1, "accepted": 1}
    await roombot.wait_for_calls(lambda calls: calls == [])


async def test_an_authorization_that_is_not_bearer_is_401(live_call: LiveCall, roombot: RoomBot) -> None:
    reply = await roombot.request(
        "POST",
        "/api/callbacks",
        json=[call_disconnected(live_call)],
        headers={"Authorization": f"Basic {roombot.callback_token()}"},
    )

    assert_problem(reply, 401)
    assert [call["state"] for call in await roombot.calls()] == ["connected"]


async def test_refused_callbacks_are_counted(live_call: LiveCall, roombot: RoomBot) -> None:
    await roombot.request("POST", "/api/callbacks", json=[call_disconnected(live_call)])

    metrics = await roombot.request("GET", "/metrics")

    assert 'roombot_callback_requests_total{outcome="unauthorized"} 1.0' in metrics.text


async def test_a_token_signed_by_the_emulator_is_accepted(live_call: LiveCall, roombot: RoomBot) -> None:
    event = cloud_event(live_call.id, "PlayCompleted", {"operationContext": "nobody:x"})

    reply = await roombot.post_callbacks([event], token=roombot.callback_token())

    assert reply.status == 200, reply.text
    assert reply.body == {"received": 1, "accepted": 1}
