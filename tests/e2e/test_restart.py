"""A bot restarted on the same SQLite file knows its live calls and can still end them."""

from __future__ import annotations

from bot.testing import OPS_KEY, RoomBot, cloud_event
from emulator.keys import CALLBACKS
from tests.e2e.helpers import event_ids, raw_ids


async def test_a_restarted_bot_lists_and_ends_its_live_call(durable_roombot: RoomBot) -> None:
    roombot = durable_roombot
    room = await roombot.create_room(["Presenter", "Attendee"])
    await roombot.join(room.id, room.members[0])
    connected = await roombot.connect(room.id)
    call_id = connected["callConnectionId"]
    before = await roombot.calls()

    await roombot.restart()

    assert await roombot.calls() == before
    detail = await roombot.call(call_id)
    assert detail is not None
    assert event_ids(detail) == event_ids(connected)
    reply = await roombot.request("POST", f"/ops/calls/{call_id}/end", key=OPS_KEY)
    assert reply.status == 202, reply.text
    assert await roombot.emulator_call(room.id) is None
    await roombot.wait_for_calls(lambda calls: calls == [])


async def test_a_restarted_bot_keeps_following_the_call(durable_roombot: RoomBot) -> None:
    roombot = durable_roombot
    room = await roombot.create_room(["Presenter", "Attendee"])
    await roombot.join(room.id, room.members[0])
    call_id = (await roombot.connect(room.id))["callConnectionId"]

    await roombot.restart()
    await roombot.join(room.id, room.members[1])

    joined = await roombot.wait_for_call(call_id, lambda call: len(call["participants"]) == 2)
    assert raw_ids(joined) == set(room.members)


async def test_a_restarted_bot_still_drops_events_it_handled_before(durable_roombot: RoomBot) -> None:
    roombot = durable_roombot
    room = await roombot.create_room(["Presenter"])
    await roombot.join(room.id, room.members[0])
    call_id = (await roombot.connect(room.id))["callConnectionId"]
    event = cloud_event(call_id, "PlayCompleted", {"operationContext": "nobody:1"})
    assert (await roombot.post_callbacks([event])).body == {"received": 1, "accepted": 1}
    await roombot.settle(call_id)

    await roombot.restart()

    assert (await roombot.post_callbacks([event])).body == {"received": 1, "accepted": 0}


async def test_a_call_that_ended_while_the_bot_was_down_leaves_the_live_list(
    durable_roombot: RoomBot,
) -> None:
    roombot = durable_roombot
    room = await roombot.create_room(["Presenter"])
    await roombot.join(room.id, room.members[0])
    call_id = (await roombot.connect(room.id))["callConnectionId"]

    async def everyone_leaves() -> None:
        await roombot.leave(room.id, room.members[0])
        # Let the emulator give up delivering CallDisconnected to the stopped bot.
        await roombot.emulator.app[CALLBACKS].drain()

    await roombot.restart(while_down=everyone_leaves)

    await roombot.wait_for_calls(lambda calls: calls == [])
    detail = await roombot.call(call_id)
    assert detail is not None
    assert detail["endedAt"] is not None
    # The bot made up the CallDisconnected it missed, saying why, so handlers cleaned up too.
    last = detail["events"][-1]
    assert last["type"] == "CallDisconnected"
    assert last["id"] == f"roombot:GoneWhileDown:{call_id}"
    assert "while the bot was down" in last["resultMessage"]
