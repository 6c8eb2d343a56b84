"""Connecting the bot to a room's call, and what the ops registry then shows."""

from __future__ import annotations

import asyncio

from bot.testing import BACKEND_KEY, OPS_KEY, RoomBot
from tests.e2e.helpers import LiveCall, assert_problem, event_types, raw_ids


async def test_connect_answers_202_with_the_connection_and_its_location(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])
    server_call_id = await roombot.join(room.id, room.members[0])

    reply = await roombot.request("POST", f"/api/rooms/{room.id}/connect", key=BACKEND_KEY)

    assert reply.status == 202, reply.text
    call_id = reply.body["callConnectionId"]
    assert call_id
    assert reply.body["status"] in ("connecting", "connected")
    assert reply.body["roomId"] == room.id
    assert reply.headers["Location"] == f"/ops/calls/{call_id}"
    located = await roombot.request("GET", reply.headers["Location"], key=OPS_KEY)
    assert located.status == 200
    assert located.body["callConnectionId"] == call_id
    # ACS names the server call id with CallConnected, not in its answer to connect.
    connected = await roombot.wait_for_call(call_id, lambda call: call["state"] == "connected")
    assert connected["serverCallId"] == server_call_id


async def test_connecting_again_answers_200_with_the_same_connection(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    reply = await roombot.request("POST", f"/api/rooms/{live_call.room.id}/connect", key=BACKEND_KEY)

    assert reply.status == 200, reply.text
    assert reply.body["callConnectionId"] == live_call.id
    assert reply.body["status"] == "connected"
    emulator_call = await roombot.emulator_call(live_call.room.id)
    assert emulator_call is not None
    assert emulator_call["connections"] == [live_call.id]


async def test_ten_concurrent_connects_make_one_connection(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])
    await roombot.join(room.id, room.members[0])

    replies = await asyncio.gather(
        *(roombot.request("POST", f"/api/rooms/{room.id}/connect", key=BACKEND_KEY) for _ in range(10))
    )

    assert sorted(reply.status for reply in replies) == [200] * 9 + [202]
    ids = {reply.body["callConnectionId"] for reply in replies}
    assert len(ids) == 1
    emulator_call = await roombot.emulator_call(room.id)
    assert emulator_call is not None
    assert emulator_call["connections"] == list(ids)
    calls = await roombot.wait_for_calls(lambda calls: [c["state"] for c in calls] == ["connected"])
    assert calls[0]["callConnectionId"] in ids


async def test_the_registry_shows_the_connected_call(live_call: LiveCall, roombot: RoomBot) -> None:
    emulator_call = await roombot.emulator_call(live_call.room.id)
    assert emulator_call is not None

    [listed] = await roombot.calls()

    assert listed["roomId"] == live_call.room.id
    assert listed["callConnectionId"] == live_call.id
    assert listed["serverCallId"] == emulator_call["serverCallId"]
    assert listed["state"] == "connected"
    assert listed["startedAt"]
    assert listed["participants"] == [
        {
            "rawId": live_call.room.members[0],
            "kind": "communicationUser",
            "role": "Presenter",
            "isMuted": False,
            "isOnHold": False,
        }
    ]
    detail = await roombot.call(live_call.id)
    assert detail is not None
    assert event_types(detail)[:2] == ["CallConnected", "ParticipantsUpdated"]
    assert all(event["id"] for event in detail["events"])


async def test_participants_follow_joins_and_leaves(live_call: LiveCall, roombot: RoomBot) -> None:
    presenter, attendee = live_call.room.members

    await roombot.join(live_call.room.id, attendee)
    joined = await roombot.wait_for_call(live_call.id, lambda call: len(call["participants"]) == 2)
    assert raw_ids(joined) == {presenter, attendee}

    await roombot.leave(live_call.room.id, attendee)
    left = await roombot.wait_for_call(live_call.id, lambda call: len(call["participants"]) == 1)
    assert raw_ids(left) == {presenter}
    assert event_types(left).count("ParticipantsUpdated") == 3
    assert left["state"] == "connected"


async def test_connecting_to_a_room_without_a_running_call_says_so(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])

    reply = await roombot.request("POST", f"/api/rooms/{room.id}/connect", key=BACKEND_KEY)

    # ACS accepts the connect and reports the missing call asynchronously, with ConnectFailed:
    # the bot waits for that answer and says plainly that nobody has joined.
    problem = assert_problem(reply, 409)
    assert problem["type"] == "urn:roombot:problem:no-call-running"
    assert "Nobody has joined" in problem["detail"]
    assert (problem["resultCode"], problem["resultSubCode"]) == (404, 8522)
    failed = await roombot.wait_for_call(problem["callConnectionId"], lambda c: c["state"] == "failed")
    assert "ConnectFailed" in event_types(failed)
    assert failed["endedAt"] is not None
    assert await roombot.calls() == []


async def test_connecting_to_an_unknown_room_is_404(roombot: RoomBot) -> None:
    reply = await roombot.request("POST", "/api/rooms/99999999999999999/connect", key=BACKEND_KEY)

    assert_problem(reply, 404)
    assert await roombot.calls() == []
