"""Third-party handlers, defined here, run by the bot through `create_app(handler_factories=)`:
what they receive, their isolation from each other, and operationContext routing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot import keys
from bot.handlers import HandlerFactory
from bot.testing import BACKEND_KEY, OPS_KEY, RoomBot, cloud_event, wait_until
from tests.e2e.helpers import LiveCall
from tests.e2e.sample_handlers import Boom, Greeter, Other, Picky, Recorder, RecorderConfig

FACTORIES: dict[str, HandlerFactory] = {
    "recorder": Recorder,
    "other": Other,
    "boom": Boom,
    "greeter": Greeter,
    "picky": Picky,
}


@pytest.fixture
def roombot_handler_factories() -> dict[str, HandlerFactory]:
    return FACTORIES


@pytest.fixture
def roombot_settings_overrides() -> dict[str, Any]:
    return {"handlers": {"recorder": {"label": "configured"}, "greeter": {"label": "greeter-config"}}}


def recorder(roombot: RoomBot, name: str = "recorder") -> Recorder:
    handler = roombot.handler(name)
    assert isinstance(handler, Recorder)
    return handler


async def test_only_the_given_handlers_run_with_their_config(roombot: RoomBot) -> None:
    running = sorted(handler.name for handler in roombot.app[keys.HANDLERS])

    assert running == ["boom", "greeter", "other", "picky", "recorder"]
    assert recorder(roombot).config == RecorderConfig(label="configured")
    assert recorder(roombot).started_with is roombot.app[keys.SERVICES]


async def test_a_handler_receives_the_call_events_with_a_frozen_context(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    seen = recorder(roombot)

    await wait_until(lambda: "ParticipantsUpdated" in seen.types(), what="ParticipantsUpdated")

    assert seen.types()[:2] == ["CallConnected", "ParticipantsUpdated"]
    event, ctx = seen.received[1]
    assert ctx.call_connection_id == live_call.id
    assert ctx.room_id == live_call.room.id
    assert ctx.handler_name == "recorder"
    assert [p.raw_id for p in ctx.call.participants] == [live_call.room.members[0]]
    assert ctx.operation_context("menu-1") == "recorder:menu-1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.handler_name = "someone-else"  # type: ignore[misc]  # the point: it is frozen
    with pytest.raises(Exception, match="frozen"):
        event.id = "rewritten"  # type: ignore[misc]  # events are frozen pydantic models


async def test_a_failing_handler_does_not_stop_the_others(live_call: LiveCall, roombot: RoomBot) -> None:
    await roombot.join(live_call.room.id, live_call.room.members[1])

    await wait_until(
        lambda: recorder(roombot).types().count("ParticipantsUpdated") == 2, what="second update"
    )
    await wait_until(lambda: recorder(roombot, "other").types().count("ParticipantsUpdated") == 2)
    metrics = await roombot.request("GET", "/metrics")
    failures = next(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.text.splitlines()
        if line.startswith('roombot_handler_failures_total{handler="boom"}')
    )
    assert failures >= 3  # CallConnected and two ParticipantsUpdated at least
    assert [call["state"] for call in await roombot.calls()] == ["connected"]


async def test_an_owned_operation_context_reaches_only_its_owner(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    owned = cloud_event(live_call.id, "PlayCompleted", {"operationContext": "other:greeting-1"})
    orphan = cloud_event(live_call.id, "PlayCompleted", {"operationContext": "nobody:greeting-1"})
    untagged = cloud_event(live_call.id, "PlayCompleted")

    reply = await roombot.post_callbacks([owned, orphan, untagged])

    assert reply.status == 200
    await roombot.settle(live_call.id)
    assert owned["id"] in recorder(roombot, "other").ids()
    assert owned["id"] not in recorder(roombot).ids()
    assert orphan["id"] not in recorder(roombot, "other").ids() + recorder(roombot).ids()
    assert untagged["id"] in recorder(roombot, "other").ids()
    assert untagged["id"] in recorder(roombot).ids()


async def test_a_handler_that_declares_its_events_is_given_only_those(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    played = cloud_event(live_call.id, "PlayCompleted")
    owned = cloud_event(live_call.id, "PlayCompleted", {"operationContext": "picky:greeting-1"})
    owned_elsewhere = cloud_event(live_call.id, "PlayCompleted", {"operationContext": "other:greeting-1"})
    tone = cloud_event(live_call.id, "ContinuousDtmfRecognitionToneReceived", {"tone": "five"})
    started = cloud_event(live_call.id, "PlayStarted", {"operationContext": "picky:greeting-1"})

    reply = await roombot.post_callbacks([played, owned, owned_elsewhere, tone, started])

    assert reply.status == 200
    await roombot.settle(live_call.id)
    picky = recorder(roombot, "picky")
    assert set(picky.types()) == {"ParticipantsUpdated", "PlayCompleted"}
    plays = {played["id"], owned["id"], owned_elsewhere["id"]}
    # The untagged play and its own, not the one another handler owns.
    assert [i for i in picky.ids() if i in plays] == [played["id"], owned["id"]]
    # Its own operation context does not bring it a type it did not ask for; everyone else
    # still gets what is theirs and what is untagged.
    assert started["id"] not in picky.ids()
    assert tone["id"] in recorder(roombot).ids()
    assert {played["id"], tone["id"]} <= set(recorder(roombot, "other").ids())


async def test_call_events_reach_every_handler_whatever_their_operation_context(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    # ACS echoes the connect request's operationContext in CallConnected and CallDisconnected.
    await wait_until(lambda: "CallConnected" in recorder(roombot, "other").types())
    connected, _ = recorder(roombot).received[0]
    assert connected.type == "CallConnected"
    assert connected.operation_context is not None

    await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)

    await wait_until(lambda: "CallDisconnected" in recorder(roombot).types())
    await wait_until(lambda: "CallDisconnected" in recorder(roombot, "other").types())


async def test_a_handler_route_is_served(roombot: RoomBot) -> None:
    reply = await roombot.request("POST", "/api/rooms/12345/greetings", key=BACKEND_KEY)

    assert reply.status == 202, reply.text
    assert reply.body == {"greeted": "12345", "by": "greeter-config"}


async def test_handlers_are_stopped_at_shutdown_and_started_again(roombot: RoomBot) -> None:
    before = recorder(roombot)

    await roombot.restart()

    assert before.stopped
    after = recorder(roombot)
    assert after is not before
    assert after.started_with is roombot.app[keys.SERVICES]
    assert not after.stopped
