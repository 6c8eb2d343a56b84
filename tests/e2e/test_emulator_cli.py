"""``roombot emulator`` as a user runs it: start, use with an official client, stop."""

from __future__ import annotations

import base64
import signal

import aiohttp
import pytest
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError

from emulator.config import DEV_ACCESS_KEY, DEV_RESOURCE_ID
from tests.conformance.emulator_process import emulator_cli, roombot_command
from tests.support.cli_process import run_to_completion

CUSTOM_KEY = base64.b64encode(b"an access key chosen on the command line").decode()
CUSTOM_RESOURCE = "0b1e2c3d-0000-4000-8000-00000000abcd"


async def test_defaults_print_a_working_connection_string() -> None:
    async with emulator_cli("--port", "0") as emulator:
        endpoint, key = emulator.endpoint_and_key()
        assert endpoint.startswith("http://127.0.0.1:")
        assert key == DEV_ACCESS_KEY
        assert any(DEV_RESOURCE_ID in line for line in emulator.banner)
        # from_connection_string would force https: over http a client is built from parts.
        async with RoomsClient(endpoint, AzureKeyCredential(key), retry_total=0) as rooms:
            room = await rooms.create_room()
            assert (await rooms.get_room(room.id)).id == room.id
        assert await emulator.stop(signal.SIGINT) == 0
        assert emulator.rest[-1] == "ACS emulator stopped."


async def test_chosen_key_and_resource_id_are_used() -> None:
    args = [
        "--port",
        "0",
        "--access-key",
        CUSTOM_KEY,
        "--resource-id",
        CUSTOM_RESOURCE,
        "--time-scale",
        "0.05",
    ]
    async with emulator_cli(*args) as emulator:
        endpoint, key = emulator.endpoint_and_key()
        assert key == CUSTOM_KEY
        assert any("0.05" in line for line in emulator.banner)
        async with CommunicationIdentityClient(endpoint, AzureKeyCredential(key), retry_total=0) as identity:
            user = await identity.create_user()
            assert user.raw_id.startswith(f"8:acs:{CUSTOM_RESOURCE}_")
        async with RoomsClient(endpoint, AzureKeyCredential(DEV_ACCESS_KEY), retry_total=0) as rooms:
            with pytest.raises(ClientAuthenticationError):
                await rooms.create_room()
        assert await emulator.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--access-key", "not base64!"], "--access-key must be valid base64"),
        (["--access-key", ""], "--access-key must not be empty"),
        (["--time-scale", "0"], "--time-scale must be a number greater than 0"),
        (["--time-scale", "-1"], "--time-scale must be a number greater than 0"),
        (["--time-scale", "nan"], "--time-scale must be a number greater than 0"),
        (["--port", "70000"], "--port must be between 0 and 65535"),
        (["--issuer", " "], "--issuer must not be empty"),
        (["--recording-host", "not a host/"], "--recording-host must be a host name"),
    ],
)
async def test_invalid_values_fail_with_one_clear_line(args: list[str], complaint: str) -> None:
    code, out, err = await run_to_completion(*roombot_command(), "emulator", *args)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"roombot emulator: error: {complaint}"]


async def test_callback_tokens_carry_the_real_issuer_unless_another_is_chosen() -> None:
    for args, issuer in (
        ((), "https://acscallautomation.communication.azure.com"),
        (("--issuer", "https://issuer.example"), "https://issuer.example"),
    ):
        async with emulator_cli("--port", "0", *args) as emulator:
            endpoint, _ = emulator.endpoint_and_key()
            assert any(issuer in line for line in emulator.banner)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{endpoint}/calling/.well-known/acsopenidconfiguration") as response,
            ):
                configuration = await response.json()
            # The issuer as chosen, the keys on the emulator itself.
            assert configuration["issuer"] == issuer
            assert configuration["jwks_uri"] == f"{endpoint}/calling/keys"
            assert await emulator.stop(signal.SIGTERM) == 0


async def test_a_busy_port_is_reported() -> None:
    async with emulator_cli("--port", "0") as first:
        port = first.endpoint_and_key()[0].rsplit(":", 1)[1]
        code, _, err = await run_to_completion(*roombot_command(), "emulator", "--port", port)
        assert code == 1
        assert err.startswith(f"roombot emulator: error: cannot listen on 127.0.0.1:{port}")
        assert await first.stop() == 0


async def test_roombot_without_a_command_shows_usage() -> None:
    code, _, err = await run_to_completion(*roombot_command())
    assert code == 2
    assert "usage: roombot" in err
