"""`POST /api/eventgrid`: the subscription handshake, auto-join on CallStarted, the end of a
room's state on CallEnded, and the optional `?key=`."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.testing import OPS_KEY, RoomBot
from emulator.keys import EVENT_GRID
from tests.e2e.helpers import LiveCall, assert_problem, event_types

EVENTGRID_KEY = "eventgrid-key-for-tests"
# Auto-join needs the key: a CallStarted is what makes the bot join a room.
AUTO_JOIN = pytest.mark.parametrize(
    "roombot_settings_overrides", [{"auto_join": True, "eventgrid_key": EVENTGRID_KEY}], ids=["auto-join"]
)
TOPIC = "/subscriptions/0/resourcegroups/rg/providers/microsoft.communication/communicationservices/acs"
WITH_KEY = pytest.mark.parametrize(
    "roombot_settings_overrides", [{"eventgrid_key": EVENTGRID_KEY}], ids=["eventgrid-key"]
)


def grid_event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "topic": TOPIC,
        "subject": "call",
        "data": data,
        "eventType": event_type,
        "eventTime": datetime.now(UTC).isoformat(),
        "dataVersion": "1.0",
        "metadataVersion": "1",
    }


def validation_event(code: str) -> dict[str, Any]:
    return grid_event(
        "Microsoft.EventGrid.SubscriptionValidationEvent",
        {"validationCode": code, "validationUrl": "https://example.invalid/validate"},
    )


def call_ended(room_id: str, server_call_id: str) -> dict[str, Any]:
    return grid_event(
        "Microsoft.Communication.CallEnded",
        {"room": {"id": room_id}, "serverCallId": server_call_id, "isRoomsCall": True},
    )


async def drop_callbacks(roombot: RoomBot) -> None:
    """The emulator loses every Call Automation callback from now on (Event Grid still goes)."""
    reply = await roombot.request(
        "PUT", "/emulator/faults", json={"callbacks": {"drop": 1}}, base=roombot.emulator.url
    )
    assert reply.status == 200, reply.text


async def subscribe(roombot: RoomBot, query: str = "") -> int:
    reply = await roombot.request(
        "POST",
        "/emulator/eventgrid/subscriptions",
        json={"endpoint": f"{roombot.url}/api/eventgrid{query}"},
        base=roombot.emulator.url,
    )
    return reply.status


async def test_the_handshake_is_answered_with_the_validation_code(roombot: RoomBot) -> None:
    reply = await roombot.request(
        "POST",
        "/api/eventgrid",
        json=[validation_event("512d38b6-c7b8-40c8-89fe-f46f9e9622b6")],
        headers={"aeg-event-type": "SubscriptionValidation"},
    )

    assert reply.status == 200, reply.text
    assert reply.body == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}


async def test_the_emulator_subscribes_the_bot(roombot: RoomBot) -> None:
    assert await subscribe(roombot) == 201

    listed = await roombot.request("GET", "/emulator/eventgrid/subscriptions", base=roombot.emulator.url)
    assert [s["endpoint"] for s in listed.body] == [f"{roombot.url}/api/eventgrid"]


@AUTO_JOIN
async def test_with_auto_join_a_starting_room_call_is_joined(roombot: RoomBot) -> None:
    assert await subscribe(roombot, f"?key={EVENTGRID_KEY}") == 201
    room = await roombot.create_room(["Presenter"])

    server_call_id = await roombot.join(room.id, room.members[0])

    [call] = await roombot.wait_for_calls(
        lambda calls: len(calls) == 1 and calls[0]["state"] == "connected" and bool(calls[0]["participants"])
    )
    assert call["roomId"] == room.id
    assert call["serverCallId"] == server_call_id
    emulator_call = await roombot.emulator_call(room.id)
    assert emulator_call is not None
    assert emulator_call["connections"] == [call["callConnectionId"]]


@AUTO_JOIN
async def test_with_auto_join_the_room_state_finishes_when_the_call_ends(roombot: RoomBot) -> None:
    assert await subscribe(roombot, f"?key={EVENTGRID_KEY}") == 201
    room = await roombot.create_room(["Presenter"])
    await roombot.join(room.id, room.members[0])
    [call] = await roombot.wait_for_calls(lambda calls: len(calls) == 1 and calls[0]["state"] == "connected")

    await roombot.leave(room.id, room.members[0])

    await roombot.wait_for_calls(lambda calls: calls == [])
    ended = await roombot.call(call["callConnectionId"])
    assert ended is not None
    assert ended["state"] == "disconnected"


async def test_without_auto_join_the_bot_stays_out(roombot: RoomBot) -> None:
    assert await subscribe(roombot) == 201
    room = await roombot.create_room(["Presenter"])

    await roombot.join(room.id, room.members[0])
    await roombot.emulator.app[EVENT_GRID].drain()

    assert await roombot.calls() == []
    emulator_call = await roombot.emulator_call(room.id)
    assert emulator_call is not None
    assert emulator_call["connections"] == []


async def test_call_ended_finishes_the_room_state(live_call: LiveCall, roombot: RoomBot) -> None:
    # The call ends and its CallDisconnected is lost: Event Grid's CallEnded is all the bot gets.
    await drop_callbacks(roombot)
    await roombot.leave(live_call.room.id, live_call.room.members[0])
    event = call_ended(live_call.room.id, live_call.call["serverCallId"])

    reply = await roombot.request("POST", "/api/eventgrid", json=[event])

    assert reply.status == 200, reply.text
    await roombot.wait_for_calls(lambda calls: calls == [])
    ended = await roombot.call(live_call.id)
    assert ended is not None
    assert ended["state"] == "disconnected"
    last = ended["events"][-1]
    assert last["type"] == "CallDisconnected"
    assert last["id"] == f"roombot:CallEnded:{live_call.id}"
    assert "Event Grid" in last["resultMessage"]
    again = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)
    assert_problem(again, 409)


def as_cloud_event(event: dict[str, Any]) -> dict[str, Any]:
    """The same event as a subscription with the CloudEvents 1.0 schema delivers it."""
    return {
        "id": event["id"],
        "source": event["topic"],
        "subject": event["subject"],
        "type": event["eventType"],
        "time": event["eventTime"],
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "data": event["data"],
    }


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
async def test_call_ended_in_the_cloud_events_schema_finishes_the_room_state(
    live_call: LiveCall, roombot: RoomBot, batched: bool
) -> None:
    await drop_callbacks(roombot)
    await roombot.leave(live_call.room.id, live_call.room.members[0])
    event = as_cloud_event(call_ended(live_call.room.id, live_call.call["serverCallId"]))
    body = json.dumps([event] if batched else event)
    content_type = "application/cloudevents-batch+json" if batched else "application/cloudevents+json"

    reply = await roombot.request(
        "POST", "/api/eventgrid", data=body, headers={"Content-Type": f"{content_type}; charset=utf-8"}
    )

    assert reply.status == 200, reply.text
    await roombot.wait_for_calls(lambda calls: calls == [])
    ended = await roombot.call(live_call.id)
    assert ended is not None
    assert ended["state"] == "disconnected"


@WITH_KEY
async def test_the_cloud_events_handshake_names_the_allowed_origin(roombot: RoomBot) -> None:
    origin = {"WebHook-Request-Origin": "eventgrid.azure.net"}

    allowed = await roombot.request("OPTIONS", f"/api/eventgrid?key={EVENTGRID_KEY}", headers=origin)
    refused = await roombot.request("OPTIONS", "/api/eventgrid?key=wrong", headers=origin)
    malformed = await roombot.request("OPTIONS", f"/api/eventgrid?key={EVENTGRID_KEY}")

    assert allowed.status == 200, allowed.text
    assert allowed.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert_problem(refused, 401)
    assert_problem(malformed, 400)


async def test_a_cloud_event_without_a_type_is_400(roombot: RoomBot) -> None:
    reply = await roombot.request(
        "POST",
        "/api/eventgrid",
        data=json.dumps({"specversion": "1.0", "id": "1", "data": {}}),
        headers={"Content-Type": "application/cloudevents+json"},
    )

    assert_problem(reply, 400)


async def test_a_call_ended_for_a_call_still_running_leaves_it_alone(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    # Forged, or sent by mistake: ACS still has the call, so the bot stays in it.
    event = call_ended(live_call.room.id, live_call.call["serverCallId"])

    reply = await roombot.request("POST", "/api/eventgrid", json=[event])

    assert reply.status == 200, reply.text
    await roombot.settle(live_call.id)
    assert [call["state"] for call in await roombot.calls()] == ["connected"]
    call = await roombot.call(live_call.id)
    assert call is not None
    assert "CallDisconnected" not in event_types(call)


async def test_a_flood_of_call_ended_asks_acs_once_per_room_at_a_time(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    # Event Grid needs no key by default: one POST of 1,500 CallEnded for a live room (under the
    # 1 MB that Event Grid puts in one batch at most), twice at once, must not become thousands
    # of requests to ACS.
    flood = [call_ended(live_call.room.id, live_call.call["serverCallId"]) for _ in range(1500)]
    await roombot.request("DELETE", "/emulator/requests", base=roombot.emulator.url)

    replies = await asyncio.gather(*(roombot.request("POST", "/api/eventgrid", json=flood) for _ in range(2)))

    assert [reply.status for reply in replies] == [200, 200]
    log = await roombot.request("GET", "/emulator/requests", base=roombot.emulator.url)
    checks = [r for r in log.body if r["method"] == "GET" and r["path"].endswith(live_call.id)]
    assert 1 <= len(checks) <= 2
    assert [call["state"] for call in await roombot.calls()] == ["connected"]


@pytest.mark.parametrize(
    "event",
    [
        {"eventType": "Microsoft.Communication.CallEnded", "data": [1]},
        {"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": "x"},
        {"eventType": "Microsoft.Communication.CallStarted", "data": 7},
        {
            "eventType": "Microsoft.Communication.CallEnded",
            "data": {"room": {"id": "1"}, "serverCallId": 123},
        },
    ],
    ids=["data-array", "validation-data-string", "data-number", "server-call-id-number"],
)
async def test_an_event_with_malformed_data_is_400(roombot: RoomBot, event: dict[str, Any]) -> None:
    reply = await roombot.request("POST", "/api/eventgrid", json=[event])

    assert_problem(reply, 400)


async def test_a_late_call_ended_of_an_earlier_call_leaves_the_room_call_alone(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    event = call_ended(live_call.room.id, "an-earlier-server-call-id")

    reply = await roombot.request("POST", "/api/eventgrid", json=[event])

    assert reply.status == 200, reply.text
    assert [call["state"] for call in await roombot.calls()] == ["connected"]


@WITH_KEY
@pytest.mark.parametrize("query", ["", "?key=wrong-key", "?key="], ids=["missing", "wrong", "empty"])
async def test_with_a_key_a_request_without_it_is_401(roombot: RoomBot, query: str) -> None:
    reply = await roombot.request("POST", f"/api/eventgrid{query}", json=[validation_event("code")])

    assert_problem(reply, 401)


@WITH_KEY
async def test_with_a_key_the_right_one_is_accepted(roombot: RoomBot) -> None:
    reply = await roombot.request(
        "POST", f"/api/eventgrid?key={EVENTGRID_KEY}", json=[validation_event("c0de")]
    )

    assert reply.status == 200, reply.text
    assert reply.body == {"validationResponse": "c0de"}


@WITH_KEY
async def test_with_a_key_only_a_subscription_carrying_it_validates(roombot: RoomBot) -> None:
    assert await subscribe(roombot) == 400
    assert await subscribe(roombot, f"?key={EVENTGRID_KEY}") == 201


@WITH_KEY
async def test_with_a_key_a_refused_call_ended_finishes_nothing(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    event = call_ended(live_call.room.id, live_call.call["serverCallId"])

    reply = await roombot.request("POST", "/api/eventgrid?key=wrong-key", json=[event])

    assert_problem(reply, 401)
    assert [call["state"] for call in await roombot.calls()] == ["connected"]
