"""`end_call`'s end-of-session warning: everyone hears it ``warning_seconds`` before the room's
validity ends, then the call ends; a warning whose time has passed is skipped, and a restarted
bot still says it, once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.handlers import HandlerFactory
from bot.testing import BACKEND_KEY, RoomBot, eventually
from handlers.announcements.handler import AnnouncementsHandler
from handlers.end_call import EndCallHandler

FACTORIES: dict[str, HandlerFactory] = {"announcements": AnnouncementsHandler, "end_call": EndCallHandler}
# The room's call lasts this long from its creation; the warning comes WARNING_SECONDS before.
# Three seconds for joining, connecting (and restarting) first, on a loaded machine.
VALIDITY = timedelta(seconds=6)
WARNING_SECONDS = 3
WARNING_TEXT = "This session ends in three seconds."
# Waits cover the whole validity plus the usual margin.
WITHIN = 15.0


async def start_call(bot: RoomBot) -> tuple[str, str]:
    """A short-lived room with two people in its call and the bot connected: (room id, call id)."""
    room = await bot.create_room(["Presenter", "Attendee"], valid_for=VALIDITY)
    for member in room.members:
        await bot.join(room.id, member)
    call = await bot.connect(room.id)
    return room.id, str(call["callConnectionId"])


async def warning_plays(bot: RoomBot, room_id: str) -> list[dict[str, Any]] | None:
    """The plays of the warning in the emulator's media log; None once the call is over."""
    call = await bot.emulator_call(room_id)
    if call is None:
        return None
    return [
        entry
        for entry in call["media"]
        if entry["kind"] == "play" and WARNING_TEXT in json.dumps(entry["sources"])
    ]


async def heard_warning(bot: RoomBot, room_id: str) -> dict[str, Any]:
    async def completed() -> dict[str, Any] | None:
        plays = await warning_plays(bot, room_id)
        assert plays is not None, "the call ended before the warning was heard"
        return plays[0] if plays and plays[0]["status"] == "completed" else None

    return await eventually(completed, within=WITHIN, what=f"the end warning in room {room_id}")


async def call_ended(bot: RoomBot, room_id: str) -> None:
    async def gone() -> bool:
        return await bot.emulator_call(room_id) is None

    await eventually(gone, within=WITHIN, what=f"the end of room {room_id}'s call")


async def test_everyone_hears_the_warning_then_the_call_ends() -> None:
    async with RoomBot.start(
        handler_factories=FACTORIES, handlers={"end_call": {"warning_seconds": WARNING_SECONDS}}
    ) as bot:
        room_id, _ = await start_call(bot)

        play = await heard_warning(bot, room_id)

        assert play["to"] == "everyone"
        announcement_id = str(play["operationContext"]).removeprefix("announcements:")

        # The emulator shows the play completed once it sent PlayCompleted; the bot settles the
        # announcement when that callback has been processed, a moment later.
        async def settled() -> dict[str, Any] | None:
            reply = await bot.request("GET", f"/api/announcements/{announcement_id}", key=BACKEND_KEY)
            return reply.body if reply.body["status"] == "completed" else None

        status = await eventually(settled, within=WITHIN, what="the announcement completed")
        assert status["to"] == "everyone"
        await call_ended(bot, room_id)


async def test_a_warning_whose_time_has_passed_is_skipped() -> None:
    # Warned 10 s before the end of a 6 s room: already past when the bot joins.
    async with RoomBot.start(
        handler_factories=FACTORIES, handlers={"end_call": {"warning_seconds": 10}}
    ) as bot:
        room_id, _ = await start_call(bot)
        plays: list[dict[str, Any]] = []

        async def ended_without_warning() -> bool:
            seen = await bot.emulator_call(room_id)
            if seen is None:
                return True
            plays.extend(entry for entry in seen["media"] if entry["kind"] == "play")
            return False

        await eventually(ended_without_warning, within=WITHIN, what="the end of the call")
        assert plays == []


async def test_a_restarted_bot_still_warns_once(tmp_path: Path) -> None:
    async with RoomBot.start(
        handler_factories=FACTORIES,
        handlers={"end_call": {"warning_seconds": WARNING_SECONDS}},
        state_url=f"sqlite:///{tmp_path / 'state.db'}",
    ) as bot:
        room_id, _ = await start_call(bot)

        await bot.restart()
        await heard_warning(bot, room_id)

        plays = await warning_plays(bot, room_id)
        assert plays is not None
        assert len(plays) == 1
        await call_ended(bot, room_id)
