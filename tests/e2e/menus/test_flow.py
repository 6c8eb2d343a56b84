"""DTMF menus end to end: the bot on the emulator, keys pressed through the emulator's control
API, checked in the emulator's media log (each recognize addressed to exactly the participant,
with the menu's prompts and timeouts), in the backend's signed notifications and in the session
resource."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.testing import RoomBot, eventually
from tests.e2e.menus.support import (
    Call,
    media,
    menus_bot,
    notification,
    nth_recognize,
    press,
    recognizes,
    run_menu,
    spoken,
    start_call,
    wait_session,
    write_menus,
)
from tests.support.callback_sink import CallbackSink


@pytest.fixture
async def bot(tmp_path: Path, sink: CallbackSink) -> AsyncIterator[RoomBot]:
    async with menus_bot(write_menus(tmp_path), sink) as roombot:
        yield roombot


@pytest.fixture
async def call(bot: RoomBot) -> Call:
    return await start_call(bot)


async def test_a_valid_key_runs_the_options_actions(bot: RoomBot, call: Call, sink: CallbackSink) -> None:
    started = await run_menu(bot, call, call.attendee, "main")
    assert started["status"] == "running"
    assert (started["roomId"], started["participant"], started["menu"]) == (
        call.room.id,
        call.attendee,
        "main",
    )
    session_id = started["sessionId"]

    asked = await nth_recognize(bot, call, session_id, 1)
    assert asked["to"] == [call.attendee]
    assert spoken(asked) == ["Press 1 to confirm, or 2 for languages."]
    options = asked["options"]
    assert options["initialSilenceTimeoutInSeconds"] == 300
    assert options["interToneTimeoutInSeconds"] == 5
    assert options["maxTonesToCollect"] == 1
    assert options["interruptPrompt"] is True
    await press(bot, call, call.attendee, "1")

    body = await notification(sink, "confirmed")
    assert body == {
        "event": "confirmed",
        "source": "main",
        "roomId": call.room.id,
        "participant": call.attendee,
        "menu": "main",
        "sessionId": session_id,
        "keys": "1",
    }
    done = await wait_session(bot, session_id, "completed")
    assert done["lastEntry"] == "1"
    # "Confirmed." was said to the attendee alone, before the notification.
    said = [entry for entry in await media(bot, call) if entry["kind"] == "play"]
    assert [(spoken(entry), entry["to"], entry["status"]) for entry in said] == [
        (["Confirmed."], [call.attendee], "completed")
    ]
    assert len(await recognizes(bot, call, session_id)) == 1


async def test_an_invalid_key_is_said_then_the_menu_asks_again(bot: RoomBot, call: Call) -> None:
    session_id = (await run_menu(bot, call, call.attendee, "main"))["sessionId"]
    await nth_recognize(bot, call, session_id, 1)
    await press(bot, call, call.attendee, "7")

    again = await nth_recognize(bot, call, session_id, 2)
    assert again["to"] == [call.attendee]
    assert spoken(again) == ["That key is not an option.", "Press 1 to confirm, or 2 for languages."]
    await press(bot, call, call.attendee, "1")

    done = await wait_session(bot, session_id, "completed")
    assert done["failedTries"] == {"main": 1}
    first, second = await recognizes(bot, call, session_id)
    assert (first["tones"], first["resultSubCode"]) == (["seven"], 8531)
    assert (second["tones"], second["resultSubCode"]) == (["one"], 8531)


async def test_no_input_until_max_tries_runs_on_max_tries(bot: RoomBot, call: Call) -> None:
    session_id = (await run_menu(bot, call, call.attendee, "quiet"))["sessionId"]

    async def removed() -> bool:
        emulated = await bot.emulator_call(call.room.id)
        assert emulated is not None
        return call.attendee not in {p["rawId"] for p in emulated["participants"]}

    await eventually(removed, what="the attendee removed from the call")
    first, second = await recognizes(bot, call, session_id)
    assert spoken(first) == ["Press 1."]
    assert spoken(second) == ["Still there?", "Press 1."]
    for entry in (first, second):
        assert entry["to"] == [call.attendee]
        assert (entry["status"], entry["resultSubCode"]) == ("failed", 8510)
        assert entry["options"]["initialSilenceTimeoutInSeconds"] == 1
    goodbye = [entry for entry in await media(bot, call) if entry["kind"] == "play"]
    assert [(spoken(entry), entry["to"]) for entry in goodbye] == [(["Goodbye."], [call.attendee])]
    done = await wait_session(bot, session_id, "maxTries")
    assert done["failedTries"] == {"quiet": 2}


async def test_a_multi_digit_entry_ends_on_the_stop_tone(
    bot: RoomBot, call: Call, sink: CallbackSink
) -> None:
    session_id = (await run_menu(bot, call, call.attendee, "pin"))["sessionId"]
    asked = await nth_recognize(bot, call, session_id, 1)
    assert asked["options"]["maxTonesToCollect"] == 6
    assert asked["options"]["stopTones"] == ["pound"]
    assert asked["options"]["interToneTimeoutInSeconds"] == 30

    await press(bot, call, call.attendee, "1234#")

    body = await notification(sink, "code-ok")
    assert (body["keys"], body["menu"]) == ("1234", "pin")
    assert (await wait_session(bot, session_id, "completed"))["lastEntry"] == "1234"
    (entry,) = await recognizes(bot, call, session_id)
    assert entry["resultSubCode"] == 8514


async def test_goto_moves_to_the_next_menu(bot: RoomBot, call: Call, sink: CallbackSink) -> None:
    session_id = (await run_menu(bot, call, call.attendee, "main"))["sessionId"]
    await nth_recognize(bot, call, session_id, 1)
    await press(bot, call, call.attendee, "2")

    lang = await nth_recognize(bot, call, session_id, 2)
    assert lang["to"] == [call.attendee]
    assert spoken(lang) == ["Press 1 for English."]
    assert lang["options"]["initialSilenceTimeoutInSeconds"] == 300
    await press(bot, call, call.attendee, "1")

    assert (await notification(sink, "english"))["menu"] == "lang"
    done = await wait_session(bot, session_id, "completed")
    assert (done["startMenu"], done["menu"]) == ("main", "lang")


async def test_a_participant_who_leaves_ends_their_session(bot: RoomBot, call: Call) -> None:
    session_id = (await run_menu(bot, call, call.attendee, "main"))["sessionId"]
    await nth_recognize(bot, call, session_id, 1)

    await bot.leave(call.room.id, call.attendee)

    await wait_session(bot, session_id, "hangup")
    # No try is asked of someone who is gone.
    assert all(entry["to"] == [call.attendee] for entry in await recognizes(bot, call, session_id))
    assert [entry["status"] for entry in await recognizes(bot, call, session_id)][-1] != "running"


async def test_two_participants_run_menus_side_by_side(bot: RoomBot, call: Call, sink: CallbackSink) -> None:
    first = (await run_menu(bot, call, call.presenter, "lang"))["sessionId"]
    second = (await run_menu(bot, call, call.attendee, "pin"))["sessionId"]
    assert (await nth_recognize(bot, call, first, 1))["to"] == [call.presenter]
    assert (await nth_recognize(bot, call, second, 1))["to"] == [call.attendee]

    await press(bot, call, call.attendee, "1234#")
    await press(bot, call, call.presenter, "1")

    assert (await notification(sink, "english"))["participant"] == call.presenter
    assert (await notification(sink, "code-ok"))["participant"] == call.attendee
