"""What the operator console reads and does, over real HTTP: the live feed, pages of live calls,
a call's timeline, the ops routes of the handlers, and the page itself."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.testing import BACKEND_KEY, OPS_KEY, RoomBot, eventually
from tests.e2e.helpers import LiveCall, assert_problem


@dataclass
class Stream:
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    notices: list[dict[str, Any]] = field(default_factory=list)

    async def read(self, response: aiohttp.ClientResponse) -> None:
        event = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line == ": connected":
                self.connected.set()
            elif line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "call":
                self.notices.append(json.loads(line.removeprefix("data: ")))

    async def caused_by(self, cause: str) -> list[dict[str, Any]]:
        async def seen() -> list[dict[str, Any]]:
            return [notice for notice in self.notices if notice["cause"] == cause]

        return await eventually(seen, what=f"a notice caused by {cause}")


async def test_the_live_feed_tells_of_changes_as_they_happen(live_call: LiveCall, roombot: RoomBot) -> None:
    stream = Stream()
    headers = {"Authorization": f"Bearer {OPS_KEY}"}
    async with roombot.http.get(f"{roombot.url}/ops/events", headers=headers) as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        reader = asyncio.create_task(stream.read(response))
        try:
            await asyncio.wait_for(stream.connected.wait(), 10)
            await roombot.join(live_call.room.id, live_call.room.members[1])
            [joined, *_] = await stream.caused_by("ParticipantsUpdated")
            reply = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)
            assert reply.status == 202
            await stream.caused_by("endRequested")
            await stream.caused_by("CallDisconnected")
        finally:
            reader.cancel()
    assert joined["callConnectionId"] == live_call.id
    assert {notice["callConnectionId"] for notice in stream.notices} == {live_call.id}


async def test_the_live_feed_needs_an_ops_key(roombot: RoomBot) -> None:
    assert_problem(await roombot.request("GET", "/ops/events"), 401)
    assert_problem(await roombot.request("GET", "/ops/events", key=BACKEND_KEY), 403)


async def test_live_calls_come_in_pages_with_a_total_and_a_room_filter(roombot: RoomBot) -> None:
    rooms = [await roombot.create_room(["Presenter"]) for _ in range(3)]
    for room in rooms:
        await roombot.join(room.id, room.members[0])
        await roombot.connect(room.id)

    first = await roombot.request("GET", "/ops/calls?limit=2", key=OPS_KEY)
    assert first.status == 200, first.text
    assert first.headers["X-Total-Count"] == "3"
    assert len(first.body) == 2
    link = first.headers["Link"]
    assert link.startswith("</ops/calls?")
    assert link.endswith('>; rel="next"')
    second = await roombot.request("GET", link[1 : link.index(">")], key=OPS_KEY)
    assert second.headers["X-Total-Count"] == "3"
    assert "Link" not in second.headers
    listed = [call["roomId"] for call in [*first.body, *second.body]]
    assert sorted(listed) == sorted(room.id for room in rooms)
    assert len(set(listed)) == 3

    one = rooms[1].id
    filtered = await roombot.request("GET", f"/ops/calls?roomId={one[:12]}", key=OPS_KEY)
    assert [call["roomId"] for call in filtered.body] == [one]
    assert filtered.headers["X-Total-Count"] == "1"
    everything = await roombot.request("GET", "/ops/calls", key=OPS_KEY)
    assert len(everything.body) == 3


async def test_a_bad_page_request_is_a_problem(roombot: RoomBot) -> None:
    for query in ("limit=0", "limit=501", "limit=ten", "cursor=not%2Ba%2Bcursor"):
        assert_problem(await roombot.request("GET", f"/ops/calls?{query}", key=OPS_KEY), 400)
    # Text a cursor could be, that no page gave: there is no such page.
    assert_problem(await roombot.request("GET", "/ops/calls?cursor=not-a-cursor", key=OPS_KEY), 404)


async def test_the_timeline_draws_participants_menus_and_the_end(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    attendee = live_call.room.members[1]
    await roombot.join(live_call.room.id, attendee)
    await roombot.wait_for_call(live_call.id, lambda c: len(c["participants"]) == 2)
    menus = await roombot.request("GET", "/ops/menus", key=OPS_KEY)
    assert {"name": "interpreter-confirm"} in menus.body
    started = await roombot.request(
        "POST",
        f"/ops/calls/{live_call.id}/menus",
        key=OPS_KEY,
        json={"participant": attendee, "menu": "interpreter-confirm"},
    )
    assert started.status == 202, started.text

    async def asked() -> bool:
        call = await roombot.emulator_call(live_call.room.id)
        return call is not None and any(
            m["kind"] == "recognize" and m["status"] == "running" for m in call["media"]
        )

    await eventually(asked, what="the menu's recognize")
    path = f"/emulator/rooms/{live_call.room.id}/participants/{quote(attendee, safe='')}:dtmf"
    assert (await roombot.request("POST", path, json={"tones": "2"}, base=roombot.emulator.url)).status == 200

    async def menu_done() -> dict[str, Any] | None:
        reply = await roombot.request("GET", f"/ops/calls/{live_call.id}/timeline", key=OPS_KEY)
        assert reply.status == 200, reply.text
        menu = [item for item in reply.body["items"] if item["lane"] == "menus"]
        return reply.body if menu and menu[0]["status"] == "completed" else None

    timeline = await eventually(menu_done, what="the menu completed on the timeline")
    items = timeline["items"]
    [menu] = [item for item in items if item["lane"] == "menus"]
    assert menu["audience"] == [attendee]
    assert [mark["label"] for mark in menu["marks"]] == ["try 1: pressed 2"]
    stays = {item["label"]: item for item in items if item["lane"] == "participants"}
    assert set(stays) == {live_call.room.members[0], attendee}
    assert stays[attendee]["status"] == "in call"
    assert {p["rawId"]: p["role"] for p in timeline["call"]["participants"]} == {
        live_call.room.members[0]: "Presenter",
        attendee: "Attendee",
    }
    # The menu said "Goodbye." to the attendee alone: an announcement on its lane.
    said = [item for item in items if item["lane"] == "announcements"]
    assert [item["audience"] for item in said] == [[attendee]]
    assert timeline["unavailable"] == []

    assert (await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)).status == 202
    ended = await roombot.wait_for_call(live_call.id, lambda c: c["state"] == "disconnected")
    assert ended["endedAt"]
    after = await roombot.request("GET", f"/ops/calls/{live_call.id}/timeline", key=OPS_KEY)
    end = [item for item in after.body["items"] if item["lane"] == "end"]
    assert [item["status"] for item in end] == ["requested", "ended"]
    assert end[0]["label"] == "end for everyone asked by operator"
    assert all(stay["end"] is not None for stay in after.body["items"] if stay["lane"] == "participants")


async def test_an_operator_announces_to_a_role(live_call: LiveCall, roombot: RoomBot) -> None:
    reply = await roombot.request(
        "POST",
        f"/ops/calls/{live_call.id}/announcements",
        key=OPS_KEY,
        json={"text": "Presenters only.", "to": {"roles": ["Presenter"]}},
    )
    assert reply.status == 202, reply.text
    assert reply.body["to"] == [live_call.room.members[0]]
    assert_problem(
        await roombot.request(
            "POST",
            f"/ops/calls/{live_call.id}/announcements",
            key=BACKEND_KEY,
            json={"text": "x", "to": "everyone"},
        ),
        403,
    )
    assert_problem(
        await roombot.request(
            "POST", "/ops/calls/nope/announcements", key=OPS_KEY, json={"text": "x", "to": "everyone"}
        ),
        404,
    )


async def test_an_operator_cancels_a_ringing_dial_out(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"], pstn_dial_out_enabled=True)
    await roombot.join(room.id, room.members[0])
    call = await roombot.connect(room.id)
    number = "+14255550177"
    phone = {"answer": "noAnswer"}
    assert (
        await roombot.request("PUT", f"/emulator/phones/{number}", json=phone, base=roombot.emulator.url)
    ).status == 200
    created = await roombot.request(
        "POST",
        f"/api/rooms/{room.id}/dialouts",
        key=BACKEND_KEY,
        json={"phoneNumber": number, "callerId": "+14255550100"},
        headers={"Idempotency-Key": "ops-cancel-test"},
    )
    assert created.status == 202, created.text

    async def ringing() -> dict[str, Any] | None:
        reply = await roombot.request("GET", f"/ops/calls/{call['callConnectionId']}/timeline", key=OPS_KEY)
        found = [item for item in reply.body["items"] if item["lane"] == "dial-outs"]
        return found[0] if found and found[0]["status"] == "ringing" else None

    item = await eventually(ringing, what="the dial-out ringing on the timeline")
    [action] = item["actions"]
    assert action["method"] == "DELETE"
    assert action["path"] == f"/ops/dialouts/{created.body['id']}"
    assert_problem(await roombot.request("DELETE", action["path"], key=BACKEND_KEY), 403)
    assert (await roombot.request("DELETE", action["path"], key=OPS_KEY)).status == 202

    async def cancelled() -> dict[str, Any] | None:
        reply = await roombot.request("GET", f"/api/dialouts/{created.body['id']}", key=BACKEND_KEY)
        return reply.body if reply.body["status"] == "cancelled" else None

    await eventually(cancelled, what="the dial-out cancelled")
    timeline = await roombot.request("GET", f"/ops/calls/{call['callConnectionId']}/timeline", key=OPS_KEY)
    [dialout] = [item for item in timeline.body["items"] if item["lane"] == "dial-outs"]
    assert [segment["status"] for segment in dialout["segments"]] == ["pending", "ringing", "cancelled"]
    assert dialout["actions"] == []


async def test_the_console_page_and_its_assets(roombot: RoomBot) -> None:
    page = await roombot.request("GET", "/console")
    assert page.status == 200
    assert page.content_type == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'type="password"' in page.text
    for name, kind in (
        ("console.js", "text/javascript"),
        ("console.css", "text/css"),
        ("api.js", "text/javascript"),
    ):
        asset = await roombot.request("GET", f"/console/assets/{name}")
        assert (asset.status, asset.content_type) == (200, kind), name
    for name in ("nothing.js", "..%2Fpage.py", ".hidden.js", "page.py"):
        assert_problem(await roombot.request("GET", f"/console/assets/{name}"), 404)
