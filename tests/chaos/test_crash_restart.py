"""A bot killed with SIGKILL mid-flow and restarted on its SQLite file loses and doubles nothing.

Interpreter dial-outs with DTMF confirmation and room announcements run while the bot process is
killed twice; the emulator runs in a process of its own and keeps the calls going. The backend
retries a trigger whose answer it did not get, with the same ``Idempotency-Key``, as backends do.
Afterwards every dial-out must be final and right (the interpreter pressed 1: confirmed), each
phone rang once, every announcement completed and was played once.

Counts: ``CHAOS_DIALOUTS`` (default 16) dial-outs over four rooms; set it to 80 to run the full
figure by hand. Bounded in time by ``SETTLE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.processes import OPS_KEY, BotProcess, ProcessBed, process_bed

DIALOUTS = int(os.environ.get("CHAOS_DIALOUTS", "16"))
ROOMS = 4
ANNOUNCEMENTS_PER_ROOM = 3
FINAL = {"confirmed", "declined", "failed", "cancelled"}
# A guard against a hung run, not an expectation about speed.
SETTLE_SECONDS = 150.0


async def retrying(
    bed: ProcessBed, bot: BotProcess, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, Any]:
    """What a backend does while the bot is down: try again, same request, same key."""
    for _ in range(600):
        try:
            status, payload = await bed.call_api(bot, method, path, body, **headers)
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
            continue
        if status >= 500:
            await asyncio.sleep(0.1)
            continue
        return status, payload
    raise AssertionError(f"{method} {path} never answered")


async def connected_rooms(bed: ProcessBed, bot: BotProcess) -> list[str]:
    rooms = []
    for _ in range(ROOMS):
        room_id, members = await bed.room(["Presenter", "Attendee", "Consumer"])
        for member in members:
            await bed.join(room_id, member)
        status, _ = await retrying(bed, bot, "POST", f"/api/rooms/{room_id}/connect")
        assert status in (200, 202)
        rooms.append(room_id)
    for _ in range(300):
        _, calls = await bed.call_api(bot, "GET", "/ops/calls", key=OPS_KEY)
        listed = calls if isinstance(calls, list) else calls.get("calls", calls.get("value", []))
        if sum(call["state"] == "connected" for call in listed) == ROOMS:
            return rooms
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not connect to every room")


async def trigger_dialouts(bed: ProcessBed, bot: BotProcess, rooms: list[str]) -> dict[str, str]:
    """Phone number → dial-out id, triggered a few at a time while the bot may be down."""
    found: dict[str, str] = {}
    rng = random.Random(7)  # noqa: S311 (answer delays, not secrets)

    async def one(index: int) -> None:
        number = f"+1425555{1000 + index:04d}"
        # The interpreter answers after a while and presses 1 whenever the prompt asks again.
        await bed.phone(
            number,
            {
                "answer": "accept",
                "answerAfterSeconds": rng.uniform(1, 6),
                "dtmf": [{"afterSeconds": 2 + 4 * n, "tones": "1"} for n in range(50)],
            },
        )
        await asyncio.sleep(index * 0.15)
        status, dialout = await retrying(
            bed,
            bot,
            "POST",
            f"/api/rooms/{rooms[index % ROOMS]}/dialouts",
            {"phoneNumber": number, "confirmWithDtmf": True, "announcement": "An interpreter joined."},
            **{"Idempotency-Key": f"interpreter-{index}"},
        )
        assert status in (200, 202), dialout
        found[number] = dialout["id"]

    await asyncio.gather(*(one(index) for index in range(DIALOUTS)))
    return found


async def announce(bed: ProcessBed, bot: BotProcess, rooms: list[str]) -> list[str]:
    ids = []
    for n in range(ANNOUNCEMENTS_PER_ROOM):
        for room_id in rooms:
            status, announcement = await retrying(
                bed,
                bot,
                "POST",
                f"/api/rooms/{room_id}/announcements",
                {"text": f"Announcement {n} in room {room_id}.", "to": "everyone"},
            )
            assert status == 202, announcement
            ids.append(announcement["id"])
        await asyncio.sleep(0.3)
    return ids


async def chaos(bot: BotProcess) -> None:
    for pause in (1.5, 3.0):
        await asyncio.sleep(pause)
        await bot.kill()
        await asyncio.sleep(0.5)
        await bot.start()


async def settled(
    bed: ProcessBed, bot: BotProcess, paths: list[str], done: set[str]
) -> dict[str, dict[str, Any]]:
    """Each resource's last state, once all are in ``done`` or the time is up (then as they are)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while True:
        docs = {path: (await retrying(bed, bot, "GET", path))[1] for path in paths}
        if all(doc["status"] in done for doc in docs.values()) or loop.time() > deadline:
            return docs
        await asyncio.sleep(0.5)


async def test_two_kills_lose_and_double_nothing(tmp_path: Path) -> None:
    async with process_bed(tmp_path) as bed:
        bot = bed.bot(state_url=f"sqlite:///{tmp_path / 'roombot.db'}")
        await bot.start()
        rooms = await connected_rooms(bed, bot)

        dialouts, announcements, _ = await asyncio.gather(
            trigger_dialouts(bed, bot, rooms), announce(bed, bot, rooms), chaos(bot)
        )
        assert bot.starts == 3

        outcomes = await settled(bed, bot, [f"/api/dialouts/{i}" for i in dialouts.values()], FINAL)
        statuses = Counter(doc["status"] for doc in outcomes.values())
        wrong = [doc for doc in outcomes.values() if doc["status"] != "confirmed"]
        assert statuses == {"confirmed": DIALOUTS}, wrong

        invitations: Counter[str] = Counter()
        for room_id in rooms:
            for invitation in await bed.emulator("GET", f"/emulator/invitations?roomId={room_id}"):
                invitations[invitation["participant"]["rawId"]] += 1
        assert invitations == Counter({f"4:{number}": 1 for number in dialouts})

        played: Counter[str] = Counter()
        for room_id in rooms:
            call = await bed.emulator("GET", f"/emulator/rooms/{room_id}/call")
            for media in call["media"]:
                if media["kind"] == "play" and media.get("status") != "failed":
                    played[str(media.get("operationContext"))] += 1
        finished = await settled(
            bed, bot, [f"/api/announcements/{i}" for i in announcements], {"completed", "failed", "cancelled"}
        )
        assert [doc for doc in finished.values() if doc["status"] != "completed"] == []
        # Every announcement, those the dial-outs and menus asked for included, played once.
        twice = {context: count for context, count in played.items() if count > 1}
        assert twice == {}
        assert all(played[f"announcements:{announcement_id}"] == 1 for announcement_id in announcements)
