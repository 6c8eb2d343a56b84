"""The menus API's bad requests, the `RunMenu` bus command other plugins use, and menus speaking
through the announcements plugin when it is loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from bot import keys
from bot.handlers import BaseHandler, HandlerFactory
from bot.messages import MenuConfirmed, MenuEnded, MenuRefused, RunMenu
from bot.services import BotServices
from bot.testing import BACKEND_KEY, OPS_KEY, RoomBot, cloud_event, wait_until
from handlers.announcements.handler import AnnouncementsHandler
from handlers.menus.handler import MenusHandler
from tests.e2e.helpers import assert_problem
from tests.e2e.menus.support import (
    Call,
    media,
    menus_bot,
    notification,
    nth_recognize,
    press,
    run_menu,
    spoken,
    start_call,
    wait_session,
    write_menus,
)
from tests.support.callback_sink import CallbackSink


class RecorderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Recorder(BaseHandler):
    """Another plugin: records what the menus handler publishes on the bus."""

    name: ClassVar[str] = "recorder"
    Config: ClassVar[type[BaseModel]] = RecorderConfig

    def __init__(self, config: RecorderConfig) -> None:
        self.published: list[object] = []

    async def start(self, services: BotServices) -> None:
        await super().start(services)
        services.bus.subscribe(MenuConfirmed, self._record)
        services.bus.subscribe(MenuEnded, self._record)

    async def _record(self, event: object) -> None:
        self.published.append(event)


FACTORIES: dict[str, HandlerFactory] = {"menus": MenusHandler, "recorder": Recorder}


@pytest.fixture
async def bot(tmp_path: Path, sink: CallbackSink) -> AsyncIterator[RoomBot]:
    async with menus_bot(write_menus(tmp_path), sink, FACTORIES) as roombot:
        yield roombot


@pytest.fixture
async def call(bot: RoomBot) -> Call:
    return await start_call(bot)


async def post_menu(bot: RoomBot, room_id: str, body: Any, **options: Any) -> Any:
    return await bot.request(
        "POST", f"/api/rooms/{room_id}/menus", **{"key": BACKEND_KEY, "json": body, **options}
    )


async def test_an_unknown_menu_is_422_naming_the_menus(bot: RoomBot, call: Call) -> None:
    reply = await post_menu(bot, call.room.id, {"participant": call.attendee, "menu": "nope"})
    problem = assert_problem(reply, 422)
    assert "there is no menu named 'nope'" in problem["detail"]
    assert "main" in problem["detail"]
    assert problem["errors"][0]["field"] == "menu"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"menu": "main"}, "participant"),
        ({"participant": "", "menu": "main"}, "participant"),
        ({"participant": "8:acs:x", "menu": "main", "extra": 1}, "extra"),
        ([], "body"),
    ],
)
async def test_an_invalid_body_is_422_naming_the_field(
    bot: RoomBot, call: Call, body: Any, field: str
) -> None:
    problem = assert_problem(await post_menu(bot, call.room.id, body), 422)
    assert problem["errors"][0]["field"] == field


async def test_malformed_requests(bot: RoomBot, call: Call) -> None:
    path = f"/api/rooms/{call.room.id}/menus"
    assert_problem(
        await bot.request(
            "POST", path, key=BACKEND_KEY, data="{", headers={"Content-Type": "application/json"}
        ),
        400,
    )
    assert_problem(
        await bot.request("POST", path, key=BACKEND_KEY, data="x", headers={"Content-Type": "text/plain"}),
        415,
    )
    assert_problem(await bot.request("POST", path, json={"participant": call.attendee, "menu": "main"}), 401)
    assert_problem(await post_menu(bot, "not-a-room", {"participant": call.attendee, "menu": "main"}), 404)


async def test_a_participant_not_in_the_call_is_409(bot: RoomBot) -> None:
    room = await bot.create_room(["Presenter", "Attendee"])
    await bot.join(room.id, room.members[0])
    await bot.connect(room.id)
    problem = assert_problem(
        await post_menu(bot, room.id, {"participant": room.members[1], "menu": "main"}), 409
    )
    assert room.members[1] in problem["detail"]


async def test_a_participant_whose_arrival_the_bot_missed_is_looked_up_at_acs(
    bot: RoomBot, call: Call
) -> None:
    # A ParticipantsUpdated that says the attendee is gone, newer than any the emulator sent, as
    # if the update listing them again were lost: the bot's books no longer list them.
    listed = [{"identifier": {"rawId": call.presenter, "kind": "communicationUser"}, "isMuted": False}]
    stale = cloud_event(call.id, "ParticipantsUpdated", {"sequenceNumber": 10_000, "participants": listed})
    assert (await bot.post_callbacks([stale])).status == 200
    await bot.settle(call.id)
    books = await bot.app[keys.REGISTRY].get(call.id)
    assert books is not None
    assert call.attendee not in {participant.raw_id for participant in books.participants}

    # ACS (the emulator) still has them in the call: the menu starts.
    started = await post_menu(bot, call.room.id, {"participant": call.attendee, "menu": "main"})
    assert started.status == 202, started.text
    assert started.body["participant"] == call.attendee


async def test_a_room_without_a_live_call_is_409(bot: RoomBot) -> None:
    room = await bot.create_room(["Presenter"])
    await bot.join(room.id, room.members[0])
    problem = assert_problem(
        await post_menu(bot, room.id, {"participant": room.members[0], "menu": "main"}), 409
    )
    assert "connect it first" in problem["detail"]


async def test_one_menu_at_a_time_per_participant(bot: RoomBot, call: Call) -> None:
    first = await run_menu(bot, call, call.attendee, "main")
    problem = assert_problem(
        await post_menu(bot, call.room.id, {"participant": call.attendee, "menu": "lang"}), 409
    )
    assert first["sessionId"] in problem["detail"]
    # Someone else may start one.
    await run_menu(bot, call, call.presenter, "lang")


async def test_an_unknown_session_is_404(bot: RoomBot) -> None:
    assert_problem(await bot.request("GET", "/api/menu-sessions/nope", key=BACKEND_KEY), 404)
    assert_problem(await bot.request("GET", "/api/menu-sessions/nope"), 401)


async def test_run_menu_over_the_bus_confirms_with_its_context(bot: RoomBot, call: Call) -> None:
    bus = bot.app[keys.SERVICES].bus
    session_id = await bus.execute(RunMenu(call.id, call.attendee, "confirm", context={"dialoutId": "d-1"}))
    await nth_recognize(bot, call, session_id, 1)
    await press(bot, call, call.attendee, "2")

    recorder = bot.handler("recorder")
    assert isinstance(recorder, Recorder)
    await wait_until(lambda: len(recorder.published) == 2, what="MenuConfirmed and MenuEnded")
    assert recorder.published == [
        MenuConfirmed(
            call.id, call.attendee, confirmed=False, session_id=session_id, context={"dialoutId": "d-1"}
        ),
        MenuEnded(
            call.id, call.attendee, session_id=session_id, reason="completed", context={"dialoutId": "d-1"}
        ),
    ]


async def test_run_menu_over_the_bus_refuses_clearly(bot: RoomBot, call: Call) -> None:
    bus = bot.app[keys.SERVICES].bus
    with pytest.raises(MenuRefused) as unknown:
        await bus.execute(RunMenu(call.id, call.attendee, "nope"))
    assert unknown.value.reason == "unknown-menu"
    await bus.execute(RunMenu(call.id, call.attendee, "confirm"))
    with pytest.raises(MenuRefused) as busy:
        await bus.execute(RunMenu(call.id, call.attendee, "main"))
    assert busy.value.reason == "busy"
    with pytest.raises(MenuRefused) as no_call:
        await bus.execute(RunMenu("no-such-call", call.attendee, "main"))
    assert no_call.value.reason == "no-call"


async def test_menus_speak_through_the_announcements_plugin(tmp_path: Path, sink: CallbackSink) -> None:
    factories: dict[str, HandlerFactory] = {"menus": MenusHandler, "announcements": AnnouncementsHandler}
    async with menus_bot(write_menus(tmp_path), sink, factories) as bot:
        call = await start_call(bot)
        session_id = (await run_menu(bot, call, call.attendee, "main"))["sessionId"]
        await nth_recognize(bot, call, session_id, 1)
        await press(bot, call, call.attendee, "1")

        await notification(sink, "confirmed")
        await wait_session(bot, session_id, "completed")
        plays = [entry for entry in await media(bot, call) if entry["kind"] == "play"]
        assert [(spoken(entry), entry["to"], entry["status"]) for entry in plays] == [
            (["Confirmed."], [call.attendee], "completed")
        ]
        assert str(plays[0]["operationContext"]).startswith("announcements:")


async def test_ending_the_call_ends_its_sessions(bot: RoomBot, call: Call) -> None:
    session_id = (await run_menu(bot, call, call.attendee, "main"))["sessionId"]
    await nth_recognize(bot, call, session_id, 1)

    reply = await bot.request("POST", f"/ops/calls/{call.id}/end", key=OPS_KEY)
    assert reply.status == 202, reply.text

    recorder = bot.handler("recorder")
    assert isinstance(recorder, Recorder)
    await wait_until(lambda: recorder.published, what="MenuEnded")
    assert recorder.published == [MenuEnded(call.id, call.attendee, session_id=session_id, reason="hangup")]
    # Sessions last as long as their call.
    assert_problem(await bot.request("GET", f"/api/menu-sessions/{session_id}", key=BACKEND_KEY), 404)
