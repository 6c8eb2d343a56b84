"""Ending a call for everyone: on an operator's request, and by `end_call` when the room's
validity ends (also after the bot restarted in between)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot import keys
from bot.testing import OPS_KEY, RoomBot, cloud_event, eventually
from handlers.end_call import NAMESPACE, EndCallHandler
from tests.e2e.helpers import LiveCall, assert_problem, event_types

# How far ahead the short-lived rooms end: room for a join and a connect on a loaded machine.
SHORT_VALIDITY = timedelta(seconds=2)


async def emulator_call_gone(roombot: RoomBot, room_id: str) -> None:
    async def gone() -> bool:
        return await roombot.emulator_call(room_id) is None

    await eventually(gone, what=f"the end of room {room_id}'s call in the emulator")


async def test_ops_end_call_ends_it_for_everyone(live_call: LiveCall, roombot: RoomBot) -> None:
    await roombot.join(live_call.room.id, live_call.room.members[1])
    await roombot.wait_for_call(live_call.id, lambda call: len(call["participants"]) == 2)

    reply = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)

    assert reply.status == 202, reply.text
    assert reply.body == {"roomId": live_call.room.id, "callConnectionId": live_call.id, "status": "ending"}
    # Gone for every participant: the emulator runs no call in the room any more.
    assert await roombot.emulator_call(live_call.room.id) is None
    await roombot.wait_for_calls(lambda calls: calls == [])
    ended = await roombot.call(live_call.id)
    assert ended is not None
    assert ended["state"] == "disconnected"
    assert ended["endedAt"] is not None
    assert event_types(ended)[-1] == "CallDisconnected"


async def test_ops_end_room_ends_its_live_call(live_call: LiveCall, roombot: RoomBot) -> None:
    reply = await roombot.request("POST", f"/ops/rooms/{live_call.room.id}/end", key=OPS_KEY)

    assert reply.status == 202, reply.text
    assert reply.body["callConnectionId"] == live_call.id
    assert await roombot.emulator_call(live_call.room.id) is None
    await roombot.wait_for_calls(lambda calls: calls == [])

    again = await roombot.request("POST", f"/ops/rooms/{live_call.room.id}/end", key=OPS_KEY)
    assert_problem(again, 404)


async def test_ending_an_unknown_call_is_404(roombot: RoomBot) -> None:
    reply = await roombot.request("POST", "/ops/calls/0d5b3a8e-0000-4000-8000-000000000000/end", key=OPS_KEY)

    assert_problem(reply, 404)


async def test_ending_a_room_without_a_live_call_is_404(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])

    reply = await roombot.request("POST", f"/ops/rooms/{room.id}/end", key=OPS_KEY)

    assert_problem(reply, 404)


async def test_ending_an_ended_call_is_409(live_call: LiveCall, roombot: RoomBot) -> None:
    first = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)
    assert first.status == 202
    await roombot.wait_for_call(live_call.id, lambda call: call["state"] == "disconnected")

    second = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)

    assert_problem(second, 409)


async def test_ending_twice_at_once_is_refused_the_second_time(live_call: LiveCall, roombot: RoomBot) -> None:
    first = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)
    # Before CallDisconnected arrives the bot still lists the call; ACS then knows it no more.
    second = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)

    assert first.status == 202
    assert second.status in (404, 409)
    assert_problem(second, second.status)
    await roombot.wait_for_calls(lambda calls: calls == [])


async def test_end_call_ends_the_call_when_the_room_validity_ends(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter", "Attendee"], valid_for=SHORT_VALIDITY)
    await roombot.join(room.id, room.members[0])
    await roombot.join(room.id, room.members[1])
    call = await roombot.connect(room.id)

    await emulator_call_gone(roombot, room.id)

    ended = await roombot.wait_for_call(call["callConnectionId"], lambda c: c["state"] == "disconnected")
    assert event_types(ended)[-1] == "CallDisconnected"
    assert await roombot.calls() == []
    requests = await roombot.request("GET", "/emulator/requests", base=roombot.emulator.url)
    assert any(entry["path"].endswith(":terminate") for entry in requests.body)


async def test_end_call_schedule_survives_a_restart(durable_roombot: RoomBot) -> None:
    roombot = durable_roombot
    room = await roombot.create_room(["Presenter"], valid_for=SHORT_VALIDITY)
    await roombot.join(room.id, room.members[0])
    call = await roombot.connect(room.id)

    # The new bot learns the schedule from the state file alone.
    await roombot.restart()

    assert [c["callConnectionId"] for c in await roombot.calls()] == [call["callConnectionId"]]
    await emulator_call_gone(roombot, room.id)
    await roombot.wait_for_calls(lambda calls: calls == [])


async def test_a_call_connected_delivered_after_the_disconnect_schedules_no_end(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    reply = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)
    assert reply.status == 202, reply.text
    await roombot.wait_for_call(live_call.id, lambda call: call["state"] == "disconnected")
    assert await roombot.app[keys.STORE].get_doc(NAMESPACE, live_call.id) is None

    # A CallConnected that ACS delivered late, after the CallDisconnected.
    late = await roombot.post_callbacks([cloud_event(live_call.id, "CallConnected")])
    assert late.status == 200, late.text
    await roombot.settle(live_call.id)

    # Nothing scheduled for a call that is over: no end timer, nothing a restart would resume.
    assert await roombot.app[keys.STORE].get_doc(NAMESPACE, live_call.id) is None
    handler = roombot.app[keys.HANDLERS].get("end_call")
    assert isinstance(handler, EndCallHandler)
    assert not handler.ends.waiting(live_call.id)
    end_tasks = [task for task in asyncio.all_tasks() if task.get_name() == f"end_call:{live_call.id}"]
    assert end_tasks == []
