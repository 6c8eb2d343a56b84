"""The traffic of the chaos tests: rooms, interpreter dial-outs with DTMF confirmation and
announcements, driven as a backend drives them (retrying while the bot does not answer), and the
checks of what came of them."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import aiohttp

from tests.support.processes import OPS_KEY, ProcessBed, Reachable

ROOMS = 4
JOINED = "An interpreter joined."
# The interpreter presses 1 every 4 simulated seconds (the emulator takes 50 steps at most).
PRESSES = 50
ANNOUNCEMENTS_PER_ROOM = 3
FINAL = {"confirmed", "declined", "failed", "cancelled"}
# A guard against a hung run, not an expectation about speed.
SETTLE_SECONDS = 240.0


async def retrying(
    bed: ProcessBed, bot: Reachable, method: str, path: str, body: Any = None, **headers: str
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


async def connected_rooms(bed: ProcessBed, bot: Reachable, *, connects: int = 1) -> list[str]:
    """Rooms with three members in their call, the bot connected to each (``connects`` triggers
    per room at once: a backend retrying, or several asking)."""
    rooms = []
    for _ in range(ROOMS):
        room_id, members = await bed.room(["Presenter", "Attendee", "Consumer"])
        for member in members:
            await bed.join(room_id, member)
        answers = await asyncio.gather(
            *(retrying(bed, bot, "POST", f"/api/rooms/{room_id}/connect") for _ in range(connects))
        )
        assert all(status in (200, 202) for status, _ in answers), answers
        assert len({body["callConnectionId"] for _, body in answers}) == 1
        rooms.append(room_id)
    for _ in range(300):
        _, calls = await bed.call_api(bot, "GET", "/ops/calls", key=OPS_KEY)
        listed = calls if isinstance(calls, list) else calls.get("calls", calls.get("value", []))
        if sum(call["state"] == "connected" for call in listed) == ROOMS:
            return rooms
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not connect to every room")


def interpreter_number(index: int) -> str:
    """The phone number of the ``index``-th interpreter a run dials."""
    return f"+1425555{1000 + index:04d}"


async def trigger_dialouts(
    bed: ProcessBed, bot: Reachable, rooms: list[str], count: int, *, repeats: int = 1
) -> dict[str, str]:
    """Phone number → dial-out id, triggered a few at a time while the bot may be down; each
    trigger sent ``repeats`` times at once with its key (a backend retrying while the first is
    still in flight), every answer naming the same dial-out."""
    found: dict[str, str] = {}
    rng = random.Random(7)  # noqa: S311 (answer delays, not secrets)

    async def one(index: int) -> None:
        number = interpreter_number(index)
        # The interpreter answers after a while and presses 1 whenever the prompt asks again.
        await bed.phone(
            number,
            {
                "answer": "accept",
                "answerAfterSeconds": rng.uniform(1, 6),
                "dtmf": [{"afterSeconds": 2 + 4 * n, "tones": "1"} for n in range(PRESSES)],
            },
        )
        await asyncio.sleep(index * 0.15)
        answers = await asyncio.gather(
            *(
                retrying(
                    bed,
                    bot,
                    "POST",
                    f"/api/rooms/{rooms[index % ROOMS]}/dialouts",
                    {"phoneNumber": number, "confirmWithDtmf": True, "announcement": JOINED},
                    **{"Idempotency-Key": f"interpreter-{index}"},
                )
                for _ in range(repeats)
            )
        )
        assert all(status in (200, 202) for status, _ in answers), answers
        assert len({dialout["id"] for _, dialout in answers}) == 1, answers
        found[number] = answers[0][1]["id"]

    await asyncio.gather(*(one(index) for index in range(count)))
    return found


async def announce(bed: ProcessBed, bot: Reachable, rooms: list[str]) -> list[str]:
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


async def settled(
    bed: ProcessBed, bot: Reachable, paths: list[str], done: set[str]
) -> dict[str, dict[str, Any]]:
    """Each resource's last state, once all are in ``done`` or the time is up (then as they are)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while True:
        docs = {path: (await retrying(bed, bot, "GET", path))[1] for path in paths}
        if all(doc["status"] in done for doc in docs.values()) or loop.time() > deadline:
            return docs
        await asyncio.sleep(0.5)


async def check_outcomes(
    bed: ProcessBed, bot: Reachable, rooms: list[str], dialouts: dict[str, str], announcements: list[str]
) -> None:
    """Every dial-out confirmed, one invitation per phone, every announcement completed, nothing
    played twice."""
    outcomes = await settled(bed, bot, [f"/api/dialouts/{i}" for i in dialouts.values()], FINAL)
    statuses = Counter(doc["status"] for doc in outcomes.values())
    wrong = [doc for doc in outcomes.values() if doc["status"] != "confirmed"]
    assert statuses == {"confirmed": len(dialouts)}, wrong

    invitations: Counter[str] = Counter()
    for room_id in rooms:
        for invitation in await bed.emulator("GET", f"/emulator/invitations?roomId={room_id}"):
            invitations[invitation["participant"]["rawId"]] += 1
    assert invitations == Counter({f"4:{number}": 1 for number in dialouts})

    finished = await settled(
        bed, bot, [f"/api/announcements/{i}" for i in announcements], {"completed", "failed", "cancelled"}
    )
    assert [doc for doc in finished.values() if doc["status"] != "completed"] == []
    played: Counter[str] = Counter()
    for room_id in rooms:
        call = await bed.emulator("GET", f"/emulator/rooms/{room_id}/call")
        for media in call["media"]:
            if media["kind"] == "play" and media.get("status") != "failed":
                played[str(media.get("operationContext"))] += 1
    # Every announcement, those the dial-outs and menus asked for included, played once.
    twice = {context: count for context, count in played.items() if count > 1}
    assert twice == {}, twice
    assert all(played[f"announcements:{announcement_id}"] == 1 for announcement_id in announcements)
