"""What the emulator console reads, over real HTTP: rooms with their rosters and calls, scripted
phones, the callbacks sent with their answers, the live feed, and the loopback-only rule."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.testing import RoomBot, eventually
from emulator.app import create_emulator_app
from emulator.config import EmulatorConfig


async def test_rooms_show_their_roster_and_running_call(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter", "Consumer"])
    await roombot.join(room.id, room.members[0])

    reply = await roombot.request("GET", "/emulator/rooms", base=roombot.emulator.url)
    assert reply.status == 200, reply.text
    [shown] = [listed for listed in reply.body if listed["id"] == room.id]
    assert shown["open"] is True
    assert shown["roster"] == [
        {"rawId": room.members[0], "role": "Presenter"},
        {"rawId": room.members[1], "role": "Consumer"},
    ]
    [participant] = shown["call"]["participants"]
    assert participant["rawId"] == room.members[0]
    assert participant["role"] == "Presenter"
    assert participant["isOnHold"] is False
    assert "displayName" in participant


async def test_scripted_phones_are_listed(roombot: RoomBot) -> None:
    base = roombot.emulator.url
    assert (await roombot.request("GET", "/emulator/phones", base=base)).body == []
    script = {"answer": "busy", "answerAfterSeconds": 2}
    assert (
        await roombot.request("PUT", "/emulator/phones/+14255550111", json=script, base=base)
    ).status == 200
    listed = await roombot.request("GET", "/emulator/phones", base=base)
    assert listed.body == [
        {"phoneNumber": "+14255550111", "answer": "busy", "answerAfterSeconds": 2.0, "dtmf": []}
    ]


async def test_callbacks_sent_are_logged_with_the_receivers_answer(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])
    await roombot.join(room.id, room.members[0])
    call = await roombot.connect(room.id)

    async def delivered() -> list[dict[str, Any]] | None:
        reply = await roombot.request("GET", "/emulator/callbacks", base=roombot.emulator.url)
        sent = [entry for entry in reply.body if entry["kind"] == "callback"]
        types = {event["type"] for entry in sent for event in entry["events"]}
        return sent if {"CallConnected", "ParticipantsUpdated"} <= types else None

    sent = await eventually(delivered, what="CallConnected and ParticipantsUpdated in the log")
    assert all(entry["status"] == 200 for entry in sent)
    assert all(entry["url"] == f"{roombot.url}/api/callbacks" for entry in sent)
    ids = {event["callConnectionId"] for entry in sent for event in entry["events"]}
    assert ids == {call["callConnectionId"]}
    assert all("Authorization" not in str(entry) for entry in sent)


async def test_a_delivery_that_finds_no_receiver_is_logged_with_the_error(roombot: RoomBot) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there now: the subscription's handshake cannot be delivered.
    endpoint = f"http://127.0.0.1:{port}/eventgrid"
    reply = await roombot.request(
        "POST", "/emulator/eventgrid/subscriptions", json={"endpoint": endpoint}, base=roombot.emulator.url
    )
    assert reply.status == 400, reply.text
    log = await roombot.request("GET", "/emulator/callbacks", base=roombot.emulator.url)
    [attempt, *_] = [entry for entry in log.body if entry["url"] == endpoint]
    assert attempt["kind"] == "eventgrid"
    assert attempt["status"] is None
    assert "Connect" in attempt["error"]
    # The connection failed before the body went out: the log shows only what was sent.
    assert attempt["events"] == []


async def test_the_live_feed_tells_of_a_join(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])
    changed = asyncio.Event()
    connected = asyncio.Event()

    async def read() -> None:
        async with roombot.http.get(f"{roombot.emulator.url}/emulator/console/events") as response:
            assert response.content_type == "text/event-stream"
            async for raw in response.content:
                line = raw.decode().strip()
                if line == ": connected":
                    connected.set()
                elif line == "event: changed":
                    changed.set()

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(connected.wait(), 10)
        assert not changed.is_set()
        await roombot.join(room.id, room.members[0])
        await asyncio.wait_for(changed.wait(), 10)
    finally:
        reader.cancel()


async def test_the_console_page_is_served_to_loopback_clients(roombot: RoomBot) -> None:
    page = await roombot.request("GET", "/emulator/console", base=roombot.emulator.url)
    assert page.status == 200
    assert page.content_type == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    script = await roombot.request("GET", "/emulator/console/assets/emulator.js", base=roombot.emulator.url)
    assert script.status == 200
    missing = await roombot.request("GET", "/emulator/console/assets/app.py", base=roombot.emulator.url)
    assert missing.status == 404


async def test_the_console_refuses_clients_off_loopback() -> None:
    app = create_emulator_app(EmulatorConfig())

    # The emulator's own app, served for real; only the client's address is made up (a TEST-NET
    # address, never contacted) by a middleware in front of the emulator's.
    @web.middleware
    async def from_afar(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request.clone(remote="203.0.113.7"))

    app.middlewares.insert(0, from_afar)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            for path in (
                "/emulator/console",
                "/emulator/rooms",
                "/emulator/callbacks",
                "/emulator/console/events",
            ):
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert response.status == 403, path
    finally:
        await runner.cleanup()
