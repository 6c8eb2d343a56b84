"""Event Grid: the validation handshake, then room call lifecycle events in the Event Grid schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from emulator.keys import EVENT_GRID
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    add_room,
    connection_id,
    control,
    join,
    leave,
    open_call_automation,
    receiver,
)
from tests.support.callback_sink import CallbackSink, ReceivedPost

VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
# The life of a call that two participants join and leave.
TWO_IN_TWO_OUT = [
    "CallStarted",
    "CallParticipantAdded",
    "CallParticipantAdded",
    "CallParticipantRemoved",
    "CallParticipantRemoved",
    "CallEnded",
]
ENVELOPE = {"id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"}


async def answer_handshake(post: ReceivedPost) -> web.StreamResponse:
    if post.headers.get("aeg-event-type") == "SubscriptionValidation":
        (event,) = post.events
        return web.json_response({"validationResponse": event["data"]["validationCode"]})
    return web.Response()


def answering(status: int, body: Any) -> Callable[[ReceivedPost], Any]:
    async def respond(post: ReceivedPost) -> web.StreamResponse:
        return web.json_response(body, status=status)

    return respond


@pytest.fixture
async def subscriber(emulator: RunningEmulator) -> AsyncIterator[CallbackSink]:
    async with receiver(emulator) as sink:
        sink.respond("/eventgrid", answer_handshake)
        yield sink


async def subscribe(emulator: RunningEmulator, endpoint: str) -> dict[str, Any]:
    answer = await control(emulator, "POST", "/emulator/eventgrid/subscriptions", {"endpoint": endpoint})
    assert answer.status == 201, answer
    subscription: dict[str, Any] = answer.body
    return subscription


def room_user(raw_id: str, role: str) -> dict[str, Any]:
    return {"rawId": raw_id, "communicationUser": {"id": raw_id}, "role": role}


def notifications(sink: CallbackSink) -> list[ReceivedPost]:
    return [p for p in sink.posts_to("/eventgrid") if p.headers.get("aeg-event-type") == "Notification"]


def call_events(sink: CallbackSink) -> list[dict[str, Any]]:
    return [event for post in notifications(sink) for event in post.events]


def types(sink: CallbackSink) -> list[str]:
    return [e["eventType"].removeprefix("Microsoft.Communication.") for e in call_events(sink)]


def arrived(count: int) -> Callable[[CallbackSink], bool]:
    def condition(sink: CallbackSink) -> bool:
        return len(call_events(sink)) >= count

    return condition


async def test_a_subscription_exists_once_its_endpoint_answers_the_handshake(
    emulator: RunningEmulator, subscriber: CallbackSink
) -> None:
    subscription = await subscribe(emulator, subscriber.url("/eventgrid"))

    (handshake,) = subscriber.posts_to("/eventgrid")
    assert handshake.headers["aeg-event-type"] == "SubscriptionValidation"
    (event,) = handshake.events
    assert event["eventType"] == VALIDATION
    assert set(event) == ENVELOPE
    assert event["data"]["validationCode"]
    assert event["data"]["validationUrl"].startswith(emulator.url)
    assert subscription["endpoint"] == subscriber.url("/eventgrid")
    listed = await control(emulator, "GET", "/emulator/eventgrid/subscriptions")
    assert [s["id"] for s in listed.body] == [subscription["id"]]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(200, {"validationResponse": "not-the-code"}, id="wrong-code"),
        pytest.param(200, {}, id="no-code"),
        pytest.param(500, {"error": "down"}, id="server-error"),
        pytest.param(404, None, id="not-found"),
    ],
)
async def test_a_wrong_handshake_answer_is_a_bad_request_and_no_subscription(
    emulator: RunningEmulator, subscriber: CallbackSink, status: int, body: Any
) -> None:
    subscriber.respond("/wrong", answering(status, body))

    endpoint = subscriber.url("/wrong")
    answer = await control(emulator, "POST", "/emulator/eventgrid/subscriptions", {"endpoint": endpoint})

    assert answer.status == 400
    assert answer.body["error"]["code"]
    assert endpoint in answer.body["error"]["message"]
    assert (await control(emulator, "GET", "/emulator/eventgrid/subscriptions")).body == []


async def test_an_endpoint_nobody_listens_on_fails_the_handshake(emulator: RunningEmulator) -> None:
    async with CallbackSink() as gone:
        endpoint = gone.url("/eventgrid")
    answer = await control(emulator, "POST", "/emulator/eventgrid/subscriptions", {"endpoint": endpoint})
    assert answer.status == 400


@pytest.mark.parametrize("body", [{}, {"endpoint": "not a url"}, {"endpoint": 7}, ["x"]])
async def test_a_subscription_needs_an_absolute_endpoint_url(emulator: RunningEmulator, body: Any) -> None:
    answer = await control(emulator, "POST", "/emulator/eventgrid/subscriptions", body)
    assert answer.status == 400


async def test_room_call_lifecycle_events_reach_the_subscriber(
    emulator: RunningEmulator, subscriber: CallbackSink
) -> None:
    await subscribe(emulator, subscriber.url("/eventgrid"))
    room = add_room(emulator, ["Presenter", "Consumer"])
    presenter, consumer = room.members

    server_call_id = await join(emulator, room.id, presenter)
    await join(emulator, room.id, consumer)
    await leave(emulator, room.id, consumer)
    await leave(emulator, room.id, presenter)

    await subscriber.wait_for(arrived(6))
    assert types(subscriber) == TWO_IN_TWO_OUT
    for event in call_events(subscriber):
        assert set(event) == ENVELOPE
        data = event["data"]
        assert data["room"] == {"id": room.id}
        assert data["isRoomsCall"] is True
        assert data["serverCallId"] == server_call_id
        assert data["startedBy"] == {
            "rawId": presenter,
            "communicationUser": {"id": presenter},
            "role": "Presenter",
        }
        assert data["correlationId"]
        assert data["isTwoParty"] is False
        assert "id" in data["group"]
    started, added, added_consumer, removed_consumer, _, ended = call_events(subscriber)
    assert started["subject"] == f"call/{server_call_id}/startedBy/{presenter}"
    assert added_consumer["data"]["user"] == {
        "rawId": consumer,
        "communicationUser": {"id": consumer},
        "role": "Consumer",
    }
    assert added_consumer["subject"] == f"call/{server_call_id}/participant/{consumer}"
    assert removed_consumer["data"]["participantId"] == added_consumer["data"]["participantId"]
    for participant_event in (added, added_consumer, removed_consumer):
        assert {"displayName", "participantId", "endpointType"} <= set(participant_event["data"])
    assert ended["subject"] == f"call/{server_call_id}"
    assert ended["data"]["durationOfCall"] >= 0


async def end_a_call_of_two_for_everyone(emulator: RunningEmulator, subscriber: CallbackSink) -> None:
    """Two members join a room's call, an app connects and ends it for everyone; returns once
    the subscriber has every event of it."""
    room = add_room(emulator)
    for member in room.members:
        await join(emulator, room.id, member)
    async with receiver(emulator) as bot, open_call_automation(emulator, "async") as calls:
        props = await calls.connect(bot.url(), room_id=room.id)
        await calls.hang_up(connection_id(props), is_for_everyone=True)
    await subscriber.wait_for(arrived(6))
    await emulator.app[EVENT_GRID].drain()


async def test_ending_the_call_for_everyone_removes_everyone_then_ends_it(
    emulator: RunningEmulator, subscriber: CallbackSink
) -> None:
    await subscribe(emulator, subscriber.url("/eventgrid"))
    await end_a_call_of_two_for_everyone(emulator, subscriber)

    assert types(subscriber) == TWO_IN_TWO_OUT


@pytest.mark.parametrize("per_batch", [None, 3])
async def test_each_delivery_holds_at_most_the_subscriptions_batch_size(
    emulator: RunningEmulator, subscriber: CallbackSink, per_batch: int | None
) -> None:
    body: dict[str, Any] = {"endpoint": subscriber.url("/eventgrid")}
    if per_batch is not None:
        body["maxEventsPerBatch"] = per_batch
    created = await control(emulator, "POST", "/emulator/eventgrid/subscriptions", body)
    assert created.status == 201
    # Event Grid's default: one event per delivery.
    assert created.body["maxEventsPerBatch"] == (per_batch or 1)
    await end_a_call_of_two_for_everyone(emulator, subscriber)

    assert types(subscriber) == TWO_IN_TWO_OUT
    assert max(len(post.events) for post in notifications(subscriber)) <= (per_batch or 1)


@pytest.mark.parametrize("per_batch", [0, 5001, "3", True, 2.5])
async def test_a_batch_size_outside_event_grids_bounds_is_refused(
    emulator: RunningEmulator, subscriber: CallbackSink, per_batch: Any
) -> None:
    body = {"endpoint": subscriber.url("/eventgrid"), "maxEventsPerBatch": per_batch}
    answer = await control(emulator, "POST", "/emulator/eventgrid/subscriptions", body)

    assert answer.status == 400
    assert answer.body["error"]["target"] == "maxEventsPerBatch"
    assert (await control(emulator, "GET", "/emulator/eventgrid/subscriptions")).body == []


async def test_the_app_connecting_is_not_an_event_grid_participant(
    emulator: RunningEmulator, subscriber: CallbackSink
) -> None:
    await subscribe(emulator, subscriber.url("/eventgrid"))
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    async with receiver(emulator) as bot, open_call_automation(emulator, "async") as calls:
        props = await calls.connect(bot.url(), room_id=room.id)
        await bot.wait_for(lambda sink: sink.posts)
        await calls.hang_up(connection_id(props), is_for_everyone=False)

    await emulator.app[EVENT_GRID].drain()
    assert types(subscriber) == ["CallStarted", "CallParticipantAdded"]


async def test_a_deleted_subscription_gets_nothing_more(
    emulator: RunningEmulator, subscriber: CallbackSink
) -> None:
    subscription = await subscribe(emulator, subscriber.url("/eventgrid"))
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    await subscriber.wait_for(arrived(2))

    deleted = await control(emulator, "DELETE", f"/emulator/eventgrid/subscriptions/{subscription['id']}")
    await join(emulator, room.id, room.members[1])
    await emulator.app[EVENT_GRID].drain()

    assert deleted.status == 204
    assert types(subscriber) == ["CallStarted", "CallParticipantAdded"]
    assert (await control(emulator, "GET", "/emulator/eventgrid/subscriptions")).body == []
    again = await control(emulator, "DELETE", f"/emulator/eventgrid/subscriptions/{subscription['id']}")
    assert again.status == 404


async def test_manual_validation_is_explained_not_pretended(
    emulator: RunningEmulator, subscriber: CallbackSink
) -> None:
    await subscribe(emulator, subscriber.url("/eventgrid"))
    (handshake,) = subscriber.posts_to("/eventgrid")
    url = handshake.events[0]["data"]["validationUrl"]
    answer = await control(emulator, "GET", url.removeprefix(emulator.url))
    assert answer.status == 400
    assert "validationResponse" in answer.body["error"]["message"]
