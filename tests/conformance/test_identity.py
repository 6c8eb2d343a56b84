"""The official Identity client (sync and async) against the emulator."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from azure.communication.identity import CommunicationUserIdentifier
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator.identity.routes import verify_access_token
from emulator.keys import IDENTITIES
from emulator.server import RunningEmulator
from tests.conformance.conftest import IdentityApi

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def claims(token: str) -> dict[str, Any]:
    # Clients never verify user tokens; they only read them, as this does.
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def expires_on(token: AccessToken) -> datetime:
    # The Identity SDK passes the service's ISO 8601 string through, though AccessToken says int.
    return datetime.fromisoformat(str(token.expires_on))


def expires_in(token: AccessToken) -> timedelta:
    return expires_on(token) - datetime.now(UTC)


def is_valid(emulator: RunningEmulator, token: str) -> bool:
    store = emulator.app[IDENTITIES]
    return verify_access_token(token, access_key=emulator.config.access_key, store=store) is not None


async def test_create_user_mints_ids_of_the_resource(
    identity: IdentityApi, emulator: RunningEmulator
) -> None:
    first, second = await identity.create_user(), await identity.create_user()
    pattern = rf"8:acs:{re.escape(emulator.config.resource_id)}_{UUID}"
    assert re.fullmatch(pattern, first.raw_id)
    assert first.raw_id != second.raw_id
    assert first.properties["id"] == first.raw_id


async def test_create_user_and_token_defaults_to_24_hours(
    identity: IdentityApi, emulator: RunningEmulator
) -> None:
    user, token = await identity.create_user_and_token(["chat", "voip"])
    assert timedelta(hours=23, minutes=59) < expires_in(token) <= timedelta(hours=24)
    token_claims = claims(token.token)
    assert token_claims["skypeid"] == user.raw_id.removeprefix("8:")
    assert token_claims["acsScope"] == "chat,voip"
    assert datetime.fromtimestamp(token_claims["exp"], UTC) == expires_on(token)
    assert is_valid(emulator, token.token)


async def test_token_lifetime_can_be_chosen_within_1_to_24_hours(identity: IdentityApi) -> None:
    _, token = await identity.create_user_and_token(["voip"], token_expires_in=timedelta(hours=1))
    assert timedelta(minutes=59) < expires_in(token) <= timedelta(hours=1)


@pytest.mark.parametrize(
    "lifetime", [timedelta(minutes=59), timedelta(hours=25)], ids=["too-short", "too-long"]
)
async def test_token_lifetime_outside_1_to_24_hours_is_rejected(
    identity: IdentityApi, lifetime: timedelta
) -> None:
    user = await identity.create_user()
    minutes = int(lifetime.total_seconds() // 60)
    # As the Identity service words it (recorded live traffic of the Python Identity tests).
    message = f"ExpiresInMinutes value {minutes} is invalid. Value must be within the [60, 1440] interval."
    with pytest.raises(HttpResponseError) as getting:
        await identity.get_token(user, ["chat"], token_expires_in=lifetime)
    with pytest.raises(HttpResponseError) as creating:
        await identity.create_user_and_token(["chat"], token_expires_in=lifetime)
    for info in (getting, creating):
        assert info.value.status_code == 400
        assert info.value.error is not None
        assert (info.value.error.code, info.value.error.target) == ("ValidationError", "ExpiresInMinutes")
        assert info.value.error.message == message


@pytest.mark.parametrize("scopes", [[], ["chat", "sms"]], ids=["empty", "unknown"])
async def test_bad_scopes_are_rejected(identity: IdentityApi, scopes: list[str]) -> None:
    user = await identity.create_user()
    with pytest.raises(HttpResponseError) as info:
        await identity.get_token(user, scopes)
    assert info.value.status_code == 400
    # The Identity service's validation error shape: a code, a message and the field as target.
    assert info.value.error is not None
    assert (info.value.error.code, info.value.error.target) == ("ValidationError", "Scopes")
    assert info.value.error.message
    assert not info.value.error.details
    # Without the header the Rooms and Call Automation errors carry.
    response: Any = info.value.response
    assert response is not None
    assert "x-ms-error-code" not in response.headers
    if not scopes:
        assert info.value.error.message == "Scopes: The Scopes field is required."


async def test_get_token_for_a_user(identity: IdentityApi, emulator: RunningEmulator) -> None:
    user = await identity.create_user()
    token = await identity.get_token(user, ["voip.join"], token_expires_in=timedelta(hours=2))
    assert timedelta(hours=1, minutes=59) < expires_in(token) <= timedelta(hours=2)
    assert claims(token.token)["acsScope"] == "voip.join"
    assert is_valid(emulator, token.token)


async def test_unknown_user_is_not_found(identity: IdentityApi, emulator: RunningEmulator) -> None:
    stranger = CommunicationUserIdentifier(f"8:acs:{emulator.config.resource_id}_never-issued")
    with pytest.raises(ResourceNotFoundError):
        await identity.get_token(stranger, ["chat"])
    with pytest.raises(ResourceNotFoundError):
        await identity.revoke_tokens(stranger)
    with pytest.raises(ResourceNotFoundError):
        await identity.delete_user(stranger)


async def test_revoke_invalidates_earlier_tokens_only(
    identity: IdentityApi, emulator: RunningEmulator
) -> None:
    user, before = await identity.create_user_and_token(["chat"])
    await identity.revoke_tokens(user)
    assert not is_valid(emulator, before.token)
    after = await identity.get_token(user, ["chat"])
    assert is_valid(emulator, after.token)


async def test_deleted_user_can_no_longer_get_tokens(
    identity: IdentityApi, emulator: RunningEmulator
) -> None:
    user, token = await identity.create_user_and_token(["chat"])
    await identity.delete_user(user)
    assert not is_valid(emulator, token.token)
    with pytest.raises(ResourceNotFoundError):
        await identity.get_token(user, ["chat"])


async def test_a_token_signed_with_another_key_is_not_valid(emulator: RunningEmulator) -> None:
    raw_id = emulator.app[IDENTITIES].create()
    forged = jwt.encode(
        {"skypeid": raw_id.removeprefix("8:"), "jti": "x", "exp": 4_000_000_000}, "k" * 32, algorithm="HS256"
    )
    assert not is_valid(emulator, forged)
