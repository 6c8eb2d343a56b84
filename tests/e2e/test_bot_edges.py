"""What the bot answers when its own side is at fault (ACS refusing its credentials, signing keys
out of reach), what its access log keeps out, and that it forgets rooms it is done with."""

from __future__ import annotations

import base64
import gc
import logging
import socket
from typing import Any

import aiohttp
import pytest

from bot import keys
from bot.embedded import access_logger, bind, socket_url, start_bot
from bot.testing import BACKEND_KEY, RoomBot, bot_settings, cloud_event, serve_bot, wait_until
from emulator.server import RunningEmulator
from tests.e2e.helpers import LiveCall, assert_problem

SECRET = "eventgrid-secret-that-must-not-be-logged"


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/.well-known/openid-configuration"


async def test_the_access_log_leaves_out_the_query_string(
    emulator: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=access_logger.name)
    validation = {
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "data": {"validationCode": "c"},
    }
    # Closed here too: start_bot leaves the socket to its caller when start-up fails.
    with bind("127.0.0.1", 0) as sock:
        url = socket_url("127.0.0.1", sock)
        bot = await start_bot(bot_settings(emulator, url, eventgrid_key=SECRET), sock, url, access_log=True)
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{url}/api/eventgrid?key={SECRET}", json=[validation]) as reply,
            ):
                assert reply.status == 200, await reply.text()
        finally:
            await bot.close()

    lines = await wait_until(
        lambda: [r.getMessage() for r in caplog.records if r.name == access_logger.name],
        what="an access log line",
    )
    assert any(line.startswith("POST /api/eventgrid 200 ") for line in lines), lines
    assert all(SECRET not in line and "key=" not in line for line in lines), lines


@pytest.mark.parametrize(
    "roombot_settings_overrides", [{"acs_openid_url": closed_port_url()}], ids=["no-jwks"]
)
async def test_unreachable_signing_keys_are_503_with_retry_after(roombot: RoomBot) -> None:
    event = cloud_event("some-call", "CallConnected")

    reply = await roombot.post_callbacks([event])

    assert_problem(reply, 503)
    assert int(reply.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "roombot_settings_overrides", [{"acs_openid_url": closed_port_url()}], ids=["no-jwks"]
)
async def test_a_malformed_token_stays_401_when_keys_are_unreachable(roombot: RoomBot) -> None:
    reply = await roombot.post_callbacks([cloud_event("some-call", "CallConnected")], token="not-a-jwt")

    assert_problem(reply, 401)


async def test_a_forged_token_stays_401(live_call: LiveCall, roombot: RoomBot) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"forged"}').rstrip(b"=").decode()
    forged = f"{header}.e30.c2lnbmF0dXJl"

    reply = await roombot.post_callbacks([cloud_event(live_call.id, "CallDisconnected")], token=forged)

    assert_problem(reply, 401)


def wrong_key_settings(roombot: RoomBot) -> dict[str, Any]:
    other_key = base64.b64encode(b"not the emulator's access key, 32b").decode()
    return {"acs_connection_string": f"endpoint={roombot.emulator.url}/;accesskey={other_key}"}


async def test_acs_refusing_the_bots_credentials_is_502(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])
    await roombot.join(room.id, room.members[0])
    misconfigured = await serve_bot(
        lambda url: bot_settings(roombot.emulator, url, **wrong_key_settings(roombot))
    )
    try:
        reply = await roombot.request(
            "POST", f"/api/rooms/{room.id}/connect", key=BACKEND_KEY, base=misconfigured.url
        )
    finally:
        await misconfigured.close()

    body = assert_problem(reply, 502)
    assert body["title"] == "ACS refused the bot's credentials"


async def test_the_bot_keeps_no_lock_for_rooms_it_is_done_with(roombot: RoomBot) -> None:
    for _ in range(3):
        room = await roombot.create_room(["Presenter"])
        await roombot.join(room.id, room.members[0])
        await roombot.connect(room.id)
    reply = await roombot.request("POST", "/api/rooms/12345/connect", key=BACKEND_KEY)
    assert reply.status == 404, reply.text
    gc.collect()

    # No public view of the locks: the private map is the thing that must not grow.
    assert len(roombot.app[keys.COMMANDS]._room_locks) == 0
