"""Every event that changes a call reaches the handlers exactly once, however it came: before the
connect answer, as Event Grid's CallEnded with the CallDisconnected lost, or while the bot was down."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.handlers import HandlerFactory
from bot.testing import RoomBot, wait_until
from emulator.keys import CALLBACKS
from tests.e2e.helpers import LiveCall, event_types
from tests.e2e.sample_handlers import Recorder
from tests.e2e.test_eventgrid import call_ended

FACTORIES: dict[str, HandlerFactory] = {"recorder": Recorder}


@pytest.fixture
def roombot_handler_factories() -> dict[str, HandlerFactory]:
    return FACTORIES


def recorder(roombot: RoomBot) -> Recorder:
    handler = roombot.handler("recorder")
    assert isinstance(handler, Recorder)
    return handler


async def put_faults(roombot: RoomBot, faults: dict[str, Any]) -> None:
    reply = await roombot.request("PUT", "/emulator/faults", json=faults, base=roombot.emulator.url)
    assert reply.status == 200, reply.text


async def test_events_that_beat_the_connect_answer_reach_the_handlers_once(
    roombot: RoomBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roombot.bot.pipeline")
    room = await roombot.create_room(["Presenter"])
    await roombot.join(room.id, room.members[0])
    # ACS connects the bot but its answer is lost; the bot asks again after the Retry-After and
    # gets the first answer. Meanwhile CallConnected has reached the bot for a call it did not know.
    await put_faults(
        roombot,
        {
            "callAutomation": {
                "status": 503,
                "count": 1,
                "mode": "loseAnswer",
                "paths": [":connect"],
                "retryAfterSeconds": 0.5,
            }
        },
    )

    call = await roombot.connect(room.id)
    call_id = call["callConnectionId"]
    await roombot.settle(call_id)

    assert recorder(roombot).types().count("CallConnected") == 1
    # It did come early (else this test proves nothing): the bot held it for an unknown call.
    held = [record.getMessage() for record in caplog.records if "held until" in record.getMessage()]
    assert any("CallConnected" in message and call_id in message for message in held), held
    assert event_types(call).count("CallConnected") == 1
    detail = await roombot.call(call_id)
    assert detail is not None
    assert event_types(detail).count("CallConnected") == 1


async def test_a_call_ended_whose_disconnect_was_lost_reaches_the_handlers(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    await put_faults(roombot, {"callbacks": {"drop": 1}})
    await roombot.leave(live_call.room.id, live_call.room.members[0])
    assert await roombot.emulator_call(live_call.room.id) is None
    event = call_ended(live_call.room.id, live_call.call["serverCallId"])

    for _ in range(2):  # Event Grid delivers at least once
        reply = await roombot.request("POST", "/api/eventgrid", json=[event])
        assert reply.status == 200, reply.text

    await roombot.wait_for_calls(lambda calls: calls == [])
    seen = recorder(roombot)
    await wait_until(lambda: "CallDisconnected" in seen.types(), what="the CallDisconnected")
    await roombot.settle(live_call.id)
    [(disconnected, ctx)] = [(e, c) for e, c in seen.received if e.type == "CallDisconnected"]
    assert disconnected.id == f"roombot:CallEnded:{live_call.id}"
    assert disconnected.operation_context is None
    assert disconnected.result is not None
    assert "Event Grid" in (disconnected.result.message or "")
    assert ctx.call_connection_id == live_call.id


async def test_a_call_that_ended_while_the_bot_was_down_reaches_the_new_handlers(tmp_path: Path) -> None:
    async with RoomBot.start(
        state_url=f"sqlite:///{tmp_path / 'state.db'}", handler_factories=FACTORIES
    ) as roombot:
        room = await roombot.create_room(["Presenter"])
        await roombot.join(room.id, room.members[0])
        call_id = (await roombot.connect(room.id))["callConnectionId"]

        async def everyone_leaves() -> None:
            await roombot.leave(room.id, room.members[0])
            await roombot.emulator.app[CALLBACKS].drain()

        await roombot.restart(while_down=everyone_leaves)

        seen = recorder(roombot)
        await wait_until(lambda: "CallDisconnected" in seen.types(), what="the CallDisconnected")
        [(disconnected, ctx)] = seen.received
        assert disconnected.id == f"roombot:GoneWhileDown:{call_id}"
        assert ctx.call_connection_id == call_id
        assert ctx.room_id == room.id
