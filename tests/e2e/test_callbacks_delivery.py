"""Callback delivery as ACS does it: every event of an array is handled once, in order, even when
delivered twice or out of order."""

from __future__ import annotations

from typing import Any

from bot.testing import RoomBot, cloud_event
from tests.e2e.helpers import LiveCall, end_unheard, event_ids, event_types, raw_ids


def participants_updated(live_call: LiveCall, sequence: int, members: list[str]) -> dict[str, Any]:
    return cloud_event(
        live_call.id,
        "ParticipantsUpdated",
        {
            "serverCallId": live_call.call["serverCallId"],
            "sequenceNumber": sequence,
            "participants": [
                {"identifier": {"rawId": raw_id, "kind": "communicationUser"}, "isMuted": False}
                for raw_id in members
            ],
        },
    )


async def test_an_array_delivered_twice_is_handled_once(live_call: LiveCall, roombot: RoomBot) -> None:
    events = [
        cloud_event(live_call.id, "PlayStarted", {"operationContext": "nobody:1"}),
        cloud_event(live_call.id, "PlayCompleted", {"operationContext": "nobody:1"}),
    ]

    first = await roombot.post_callbacks(events)
    second = await roombot.post_callbacks(events)

    assert first.body == {"received": 2, "accepted": 2}
    assert second.body == {"received": 2, "accepted": 0}
    await roombot.settle(live_call.id)
    history = event_ids(await roombot.call(live_call.id) or {"events": []})
    assert [history.count(event["id"]) for event in events] == [1, 1]


async def test_the_same_event_twice_in_one_array_is_handled_once(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    event = cloud_event(live_call.id, "PlayCompleted", {"operationContext": "nobody:1"})

    reply = await roombot.post_callbacks([event, event])

    assert reply.body == {"received": 2, "accepted": 1}
    await roombot.settle(live_call.id)
    call = await roombot.call(live_call.id)
    assert call is not None
    assert event_ids(call).count(event["id"]) == 1


async def test_a_stale_participants_update_does_not_roll_back(live_call: LiveCall, roombot: RoomBot) -> None:
    presenter, attendee = live_call.room.members
    newer = participants_updated(live_call, 1000, [presenter, attendee])
    older = participants_updated(live_call, 999, [presenter])

    await roombot.post_callbacks([newer])
    await roombot.post_callbacks([older])
    await roombot.settle(live_call.id)

    call = await roombot.call(live_call.id)
    assert call is not None
    assert raw_ids(call) == {presenter, attendee}
    [stale] = [entry for entry in call["events"] if entry["id"] == older["id"]]
    assert stale["ignored"] == "stale"


async def test_the_events_of_one_array_are_processed_in_order(live_call: LiveCall, roombot: RoomBot) -> None:
    presenter, attendee = live_call.room.members
    events = [
        participants_updated(live_call, 2000, [presenter, attendee]),
        cloud_event(live_call.id, "PlayStarted", {"operationContext": "nobody:2"}),
        participants_updated(live_call, 2001, [attendee]),
        cloud_event(live_call.id, "CallDisconnected", {"serverCallId": live_call.call["serverCallId"]}),
    ]
    await end_unheard(roombot, live_call)

    reply = await roombot.post_callbacks(events)

    assert reply.body == {"received": 4, "accepted": 4}
    ended = await roombot.wait_for_call(live_call.id, lambda call: call["state"] == "disconnected")
    assert event_ids(ended)[-4:] == [event["id"] for event in events]
    assert raw_ids(ended) == {attendee}
    assert await roombot.calls() == []


async def test_one_array_may_carry_events_of_several_calls(live_call: LiveCall, roombot: RoomBot) -> None:
    other_room = await roombot.create_room(["Presenter"])
    await roombot.join(other_room.id, other_room.members[0])
    other = await roombot.connect(other_room.id)
    first = cloud_event(live_call.id, "PlayStarted", {"operationContext": "nobody:3"})
    second = cloud_event(other["callConnectionId"], "PlayStarted", {"operationContext": "nobody:3"})

    reply = await roombot.post_callbacks([first, second])

    assert reply.body == {"received": 2, "accepted": 2}
    await roombot.settle(live_call.id)
    await roombot.settle(other["callConnectionId"])
    one = await roombot.call(live_call.id)
    two = await roombot.call(other["callConnectionId"])
    assert one is not None
    assert two is not None
    assert first["id"] in event_ids(one)
    assert second["id"] not in event_ids(one)
    assert second["id"] in event_ids(two)
    assert first["id"] not in event_ids(two)


async def test_events_of_an_unknown_call_are_ignored(live_call: LiveCall, roombot: RoomBot) -> None:
    stranger = cloud_event("0d5b3a8e-0000-4000-8000-000000000000", "CallDisconnected")

    reply = await roombot.post_callbacks([stranger])

    assert reply.status == 200
    await roombot.settle(live_call.id)
    assert [call["callConnectionId"] for call in await roombot.calls()] == [live_call.id]
    assert await roombot.call("0d5b3a8e-0000-4000-8000-000000000000") is None
    call = await roombot.call(live_call.id)
    assert call is not None
    assert "CallDisconnected" not in event_types(call)


async def test_a_signed_call_disconnected_for_a_call_acs_still_has_is_not_believed(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    # What a replayed token with a made-up body would carry: signed, well formed, and false.
    forged = cloud_event(live_call.id, "CallDisconnected", {"serverCallId": live_call.call["serverCallId"]})

    reply = await roombot.post_callbacks([forged])

    assert reply.body == {"received": 1, "accepted": 1}
    await roombot.settle(live_call.id)
    assert [call["state"] for call in await roombot.calls()] == ["connected"]
    assert await roombot.emulator_call(live_call.room.id) is not None
