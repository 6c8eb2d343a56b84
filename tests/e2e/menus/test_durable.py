"""Menus beyond one request: a session that survives a bot restart, and hotkeys heard through
continuous DTMF (from a phone by default, from every participant when configured)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot import keys
from bot.state import SqliteStateStore
from bot.testing import RoomBot, eventually, serve_bot
from handlers.menus.sessions import NAMESPACE
from tests.e2e.menus.support import (
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

PHONE = "+14255550123"
CALLER_ID = "+14255550199"


async def test_a_menu_continues_after_a_bot_restart(tmp_path: Path, sink: CallbackSink) -> None:
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    async with menus_bot(write_menus(tmp_path), sink, state_url=state_url) as bot:
        call = await start_call(bot)
        session_id = (await run_menu(bot, call, call.attendee, "main"))["sessionId"]
        await nth_recognize(bot, call, session_id, 1)

        # Stopped between the prompt and the key press; the emulator's recognize keeps running.
        await bot.restart()
        await press(bot, call, call.attendee, "2")

        lang = await nth_recognize(bot, call, session_id, 2)
        assert (lang["to"], spoken(lang)) == ([call.attendee], ["Press 1 for English."])
        await press(bot, call, call.attendee, "1")
        body = await notification(sink, "english")
        assert (body["sessionId"], body["participant"]) == (session_id, call.attendee)
        done = await wait_session(bot, session_id, "completed")
        assert (done["startMenu"], done["menu"], done["tries"]) == ("main", "lang", 2)


async def test_actions_not_yet_run_when_the_bot_stopped_run_when_it_starts(
    tmp_path: Path, sink: CallbackSink
) -> None:
    state_file = tmp_path / "state.db"
    async with menus_bot(write_menus(tmp_path), sink, state_url=f"sqlite:///{state_file}") as bot:
        call = await start_call(bot)
        session_id = (await run_menu(bot, call, call.attendee, "main"))["sessionId"]
        await nth_recognize(bot, call, session_id, 1)
        old = bot.bot
        await old.close()

        # As if the bot had stopped right after "1" was pressed: the entry is stored, its
        # notification and the session's end are still to do.
        store = await SqliteStateStore.open(state_file)
        doc = await store.get_doc(NAMESPACE, session_id)
        assert doc is not None
        doc["session"].update(ended="completed", lastEntry="1")
        doc["version"] += 1
        doc["pending"] = [{"act": ["option", "main", "1"], "index": 1}, {"end": "completed"}]
        await store.put_doc(NAMESPACE, session_id, doc)
        await store.close()
        bot.bot = await serve_bot(
            lambda _url: old.settings, handler_factories=old.handler_factories, port=old.port
        )

        body = await notification(sink, "confirmed")
        assert (body["sessionId"], body["keys"]) == (session_id, "1")
        assert (await wait_session(bot, session_id, "completed"))["lastEntry"] == "1"


async def test_a_session_whose_menu_left_the_file_ends_as_failed(tmp_path: Path, sink: CallbackSink) -> None:
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    async with menus_bot(write_menus(tmp_path), sink, state_url=state_url) as bot:
        call = await start_call(bot)
        session_id = (await run_menu(bot, call, call.attendee, "main"))["sessionId"]
        await nth_recognize(bot, call, session_id, 1)
        old = bot.bot
        await old.close()
        edited = tmp_path / "edited.yaml"
        edited.write_text("menus:\n  other:\n    prompt: Hi\n    options: {'1': {notify: other}}\n")
        settings = old.settings.model_copy(update={"menus_file": edited})
        bot.bot = await serve_bot(
            lambda _url: settings, handler_factories=old.handler_factories, port=old.port
        )

        await press(bot, call, call.attendee, "1")

        await wait_session(bot, session_id, "failed")
        assert len(await recognizes(bot, call, session_id)) == 1


async def continuous_starts(bot: RoomBot) -> list[str]:
    """Raw ids that continuous DTMF recognition was started for, as the emulator received it."""
    reply = await bot.request("GET", "/emulator/requests", base=bot.emulator.url)
    assert reply.status == 200, reply.text
    return [
        entry["body"]["targetParticipant"]["rawId"]
        for entry in reply.body
        if entry["path"].endswith(":startContinuousDtmfRecognition") and entry["status"] == 200
    ]


async def test_a_phone_participants_hotkey_notifies_the_backend(tmp_path: Path, sink: CallbackSink) -> None:
    async with menus_bot(write_menus(tmp_path), sink) as bot:
        call = await start_call(bot, pstn=True)
        participants = bot.app[keys.SERVICES].acs.participants
        phone = (await participants.add_phone(call.id, PHONE, CALLER_ID)).participant_raw_id
        await bot.wait_for_call(call.id, lambda c: phone in {p["rawId"] for p in c["participants"]})

        async def listening() -> list[str]:
            return await continuous_starts(bot)

        # By default only phones are listened to: the room's VoIP users are not.
        assert await eventually(listening, what="continuous DTMF for the phone") == [phone]
        await press(bot, call, phone, "5*0")

        body = await notification(sink, "operator-requested")
        assert body == {
            "event": "operator-requested",
            "roomId": call.room.id,
            "participant": phone,
            "menu": None,
            "sessionId": None,
            "keys": "*0",
        }
        assert await continuous_starts(bot) == [phone]


async def test_hotkeys_for_everyone_start_a_menu(tmp_path: Path, sink: CallbackSink) -> None:
    handlers: dict[str, Any] = {"menus": {"hotkey_participants": "all"}}
    async with menus_bot(write_menus(tmp_path), sink, handlers=handlers) as bot:
        call = await start_call(bot)

        async def listening() -> set[str] | None:
            started = set(await continuous_starts(bot))
            return started if started == {call.presenter, call.attendee} else None

        await eventually(listening, what="continuous DTMF for both participants")
        await press(bot, call, call.attendee, "*9")

        async def asked() -> dict[str, Any] | None:
            found = [entry for entry in await media(bot, call) if entry["kind"] == "recognize"]
            return found[0] if found else None

        entry = await eventually(asked, what="the hotkey's menu")
        assert (entry["to"], spoken(entry)) == ([call.attendee], ["Press 1 for English."])
        session_id = str(entry["operationContext"]).split(":")[1]
        # The hotkey's announcement was said first, to the attendee alone.
        plays = [item for item in await media(bot, call) if item["kind"] == "play"]
        assert [(spoken(item), item["to"]) for item in plays] == [(["Languages."], [call.attendee])]

        await press(bot, call, call.attendee, "1")
        assert (await notification(sink, "english"))["sessionId"] == session_id
        await wait_session(bot, session_id, "completed")
        assert len(await recognizes(bot, call, session_id)) == 1
