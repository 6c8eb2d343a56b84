"""What the menu e2e tests share: a menu file, a bot serving it, and looks at the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.handlers import HandlerFactory
from bot.testing import BACKEND_KEY, CreatedRoom, RoomBot, eventually
from handlers.menus.handler import MenusHandler
from tests.e2e.helpers import signed_notification
from tests.support.callback_sink import CallbackSink, ReceivedPost

NOTIFY_SECRET = "menus-notify-secret-0123456789"
NOTIFY_PATH = "/notify"
FACTORIES: dict[str, HandlerFactory] = {"menus": MenusHandler}

# First-digit timeouts long enough at the tests' time scale (0.02: 300 s are 6 s) for a test to press
# keys in time, and to restart the bot in between; except in `quiet`, which nobody answers.
MENUS_YAML = """
menus:
  main:
    prompt: "Press 1 to confirm, or 2 for languages."
    options:
      "1": [{announce: "Confirmed."}, {notify: {event: confirmed, source: main}}]
      "2": {goto: lang}
    firstDigitTimeoutSeconds: 300
    interDigitTimeoutSeconds: 5
    noInputPrompt: "We did not hear a key."
    invalidPrompt: "That key is not an option."
  lang:
    prompt: "Press 1 for English."
    options:
      "1": {notify: {event: english}}
    firstDigitTimeoutSeconds: 300
  quiet:
    prompt: "Press 1."
    options: {"1": {notify: {event: never}}}
    firstDigitTimeoutSeconds: 1
    maxTries: 2
    noInputPrompt: "Still there?"
    onMaxTries: [{announce: "Goodbye."}, {removeParticipant: true}]
  pin:
    prompt: "Enter your code, then the pound key."
    options: {"1234": {notify: {event: code-ok}}}
    maxDigits: 6
    stopTones: ["#"]
    firstDigitTimeoutSeconds: 120
    interDigitTimeoutSeconds: 30
  confirm:
    prompt: "Press 1 to accept."
    options:
      "1": {confirm: true}
      "2": {confirm: false}
    firstDigitTimeoutSeconds: 300
hotkeys:
  "*0": {notify: {event: operator-requested}}
  "*9": [{announce: "Languages."}, {goto: lang}]
"""


def write_menus(directory: Path) -> Path:
    path = directory / "menus.yaml"
    path.write_text(MENUS_YAML)
    return path


@asynccontextmanager
async def menus_bot(
    menus_file: Path, sink: CallbackSink, factories: dict[str, HandlerFactory] | None = None, **settings: Any
) -> AsyncIterator[RoomBot]:
    async with RoomBot.start(
        handler_factories=factories or FACTORIES,
        menus_file=menus_file,
        notify_url=sink.url(NOTIFY_PATH),
        notify_secret=NOTIFY_SECRET,
        **settings,
    ) as roombot:
        yield roombot


@dataclass(frozen=True)
class Call:
    room: CreatedRoom
    id: str

    @property
    def presenter(self) -> str:
        return self.room.members[0]

    @property
    def attendee(self) -> str:
        return self.room.members[1]


async def start_call(roombot: RoomBot, *, pstn: bool = False) -> Call:
    """A room call with its Presenter and Attendee in it, and the bot connected."""
    room = await roombot.create_room(["Presenter", "Attendee"], pstn_dial_out_enabled=pstn)
    for member in room.members:
        await roombot.join(room.id, member)
    call = await roombot.connect(room.id)
    await roombot.wait_for_call(call["callConnectionId"], lambda c: len(c["participants"]) == 2)
    return Call(room, call["callConnectionId"])


async def run_menu(roombot: RoomBot, call: Call, participant: str, menu: str) -> dict[str, Any]:
    reply = await roombot.request(
        "POST",
        f"/api/rooms/{call.room.id}/menus",
        key=BACKEND_KEY,
        json={"participant": participant, "menu": menu},
    )
    assert reply.status == 202, reply.text
    assert reply.headers["Location"] == f"/api/menu-sessions/{reply.body['sessionId']}"
    return dict(reply.body)


async def session(roombot: RoomBot, session_id: str) -> dict[str, Any]:
    reply = await roombot.request("GET", f"/api/menu-sessions/{session_id}", key=BACKEND_KEY)
    assert reply.status == 200, reply.text
    return dict(reply.body)


async def wait_session(roombot: RoomBot, session_id: str, status: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        current = await session(roombot, session_id)
        return current if current["status"] == status else None

    return await eventually(reached, what=f"menu session {session_id} {status}")


async def media(roombot: RoomBot, call: Call) -> list[dict[str, Any]]:
    emulated = await roombot.emulator_call(call.room.id)
    assert emulated is not None, "the call ended"
    return list(emulated["media"])


async def recognizes(roombot: RoomBot, call: Call, session_id: str) -> list[dict[str, Any]]:
    """The session's recognizes in the emulator's media log, oldest first."""
    prefix = f"menus:{session_id}:"
    return [
        entry
        for entry in await media(roombot, call)
        if entry["kind"] == "recognize" and str(entry["operationContext"]).startswith(prefix)
    ]


async def nth_recognize(roombot: RoomBot, call: Call, session_id: str, n: int) -> dict[str, Any]:
    """The session's ``n``-th recognize (1-based), once the emulator runs it."""

    async def found() -> dict[str, Any] | None:
        entries = await recognizes(roombot, call, session_id)
        return entries[n - 1] if len(entries) >= n else None

    return await eventually(found, what=f"recognize {n} of session {session_id}")


def spoken(entry: dict[str, Any]) -> list[str]:
    return [source["text"]["text"] for source in entry["sources"]]


async def press(roombot: RoomBot, call: Call, participant: str, keys: str) -> None:
    path = f"/emulator/rooms/{call.room.id}/participants/{quote(participant, safe='')}:dtmf"
    reply = await roombot.request("POST", path, json={"tones": keys}, base=roombot.emulator.url)
    assert reply.status == 200, reply.text


def verified(post: ReceivedPost) -> dict[str, Any]:
    return signed_notification(post, NOTIFY_SECRET)


async def notification(sink: CallbackSink, event: str) -> dict[str, Any]:
    async def arrived() -> dict[str, Any] | None:
        for post in sink.posts_to(NOTIFY_PATH):
            body = verified(post)
            if body["event"] == event:
                return body
        return None

    return await eventually(arrived, what=f"notification {event}")
