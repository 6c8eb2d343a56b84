"""`POST /api/rooms/{roomId}/connect` with `waitForCallSeconds`: triggered before anyone has
joined, the bot answers 202 `waiting`, connects when the call starts, and tells the backend; or
gives up when the time is up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from bot.testing import BACKEND_KEY, RoomBot
from tests.e2e.helpers import assert_problem
from tests.support.callback_sink import CallbackSink

NOTIFY_SECRET = "connect-wait-notify-secret"


@pytest.fixture
async def notified() -> AsyncIterator[CallbackSink]:
    async with CallbackSink() as sink:
        yield sink


@pytest.fixture
async def bot(notified: CallbackSink) -> AsyncIterator[RoomBot]:
    async with RoomBot.start(notify_url=notified.url("/notify"), notify_secret=NOTIFY_SECRET) as roombot:
        yield roombot


async def connect(roombot: RoomBot, room_id: str, body: Any = None) -> Any:
    return await roombot.request("POST", f"/api/rooms/{room_id}/connect", key=BACKEND_KEY, json=body)


def posts(sink: CallbackSink, event: str) -> list[dict[str, Any]]:
    return [post.body for post in sink.posts if isinstance(post.body, dict) and post.body["event"] == event]


async def test_the_bot_waits_for_the_call_and_connects_when_it_starts(
    bot: RoomBot, notified: CallbackSink
) -> None:
    room = await bot.create_room(["Presenter"])

    reply = await connect(bot, room.id, {"waitForCallSeconds": 60})

    assert reply.status == 202, reply.text
    assert reply.body["status"] == "waiting"
    assert reply.body["callConnectionId"] is None
    until = datetime.fromisoformat(reply.body["waitUntil"])
    # Asking again while it waits changes nothing.
    again = await connect(bot, room.id, {"waitForCallSeconds": 5})
    assert (again.status, again.body["status"]) == (202, "waiting")
    assert again.body["waitUntil"] == reply.body["waitUntil"]

    await bot.join(room.id, room.members[0])

    [call] = await bot.wait_for_calls(lambda calls: [c["state"] for c in calls] == ["connected"])
    assert call["roomId"] == room.id
    await notified.wait_for(lambda sink: posts(sink, "connect.connected"))
    [done] = posts(notified, "connect.connected")
    assert done["roomId"] == room.id
    assert done["callConnectionId"] == call["callConnectionId"]
    assert datetime.fromisoformat(call["startedAt"]) < until
    # Now it is connected, a connect answers that.
    assert (await connect(bot, room.id)).status == 200


async def test_when_nobody_joins_in_time_the_bot_gives_up(bot: RoomBot, notified: CallbackSink) -> None:
    room = await bot.create_room(["Presenter"])

    reply = await connect(bot, room.id, {"waitForCallSeconds": 1})
    assert (reply.status, reply.body["status"]) == (202, "waiting")

    await notified.wait_for(lambda sink: posts(sink, "connect.gaveUp"))
    [gave_up] = posts(notified, "connect.gaveUp")
    assert gave_up["roomId"] == room.id
    assert await bot.calls() == []
    # The wait is over: without a wait, the answer is again that nobody has joined.
    assert assert_problem(await connect(bot, room.id), 409)["resultSubCode"] == 8522


async def test_a_running_call_is_joined_at_once_whatever_the_wait(bot: RoomBot) -> None:
    room = await bot.create_room(["Presenter"])
    await bot.join(room.id, room.members[0])

    reply = await connect(bot, room.id, {"waitForCallSeconds": 600})

    assert reply.status == 202, reply.text
    assert reply.body["status"] == "connected"


@pytest.mark.parametrize(
    "body",
    [
        {"waitForCallSeconds": -1},
        {"waitForCallSeconds": 3601},
        {"waitForCallSeconds": "5"},
        {"waitForCallSeconds": 1.5},
        {"waitForCallSeconds": True},
        {"waitForCallSecs": 5},
        [],
    ],
    ids=["negative", "over-an-hour", "a-string", "a-fraction", "a-boolean", "a-typo", "not-an-object"],
)
async def test_a_bad_wait_is_422(bot: RoomBot, body: Any) -> None:
    room = await bot.create_room(["Presenter"])

    assert_problem(await connect(bot, room.id, body), 422)
    assert await bot.calls() == []
