"""Faults of the network between the bot and ACS cost time, never the outcome.

The emulator (a process of its own) faults what a real network and service do: Call Automation
requests refused with 5xx, or performed with their answer lost (the action happened, the bot got a
503: ACS keeps no repeatability for play and recognize, so a blind resend would play twice); and
callbacks dropped, duplicated, reordered and delayed (ACS documents no delivery guarantee). The
backend sends each dial-out trigger twice at once with its key, as a backend retrying a slow
answer does. Afterwards every dial-out is final and right (each interpreter pressed 1: confirmed),
each phone rang once, every announcement completed and played once, and every menu finished.

Counts: ``FAULT_DIALOUTS`` (default 24) dial-outs over four rooms; 200 for the full figure by hand.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.chaos.scenario import (
    announce,
    check_outcomes,
    connected_rooms,
    interpreter_number,
    settled,
    trigger_dialouts,
)
from tests.support.processes import ProcessBed, Reachable, process_bed

DIALOUTS = int(os.environ.get("FAULT_DIALOUTS", "24"))
# One in five Call Automation requests faulted, the kind changing while the run goes on.
ACS_FAULTS = [
    {"status": 503, "probability": 0.2, "mode": "loseAnswer"},
    {"status": 500, "probability": 0.2, "mode": "refuse"},
    {"status": 500, "probability": 0.2, "mode": "loseAnswer"},
    {"status": 503, "probability": 0.2, "mode": "refuse", "retryAfterSeconds": 1},
]
# How a menu session can end (its status once it is not running).
MENU_ENDS = {"completed", "maxTries", "hangup", "cancelled", "failed"}
CALLBACK_FAULTS = {"drop": 0.02, "duplicate": 0.1, "reorder": True, "delaySeconds": 1.0}


# First, for certain: the first invitations are sent and their answers lost.
LOST_INVITATION_COUNT = 3
LOST_INVITATIONS = {"status": 503, "mode": "loseAnswer", "paths": [":add"], "count": LOST_INVITATION_COUNT}


async def rotate_faults(bed: ProcessBed, stop: asyncio.Event) -> None:
    await bed.emulator("PUT", "/emulator/faults", {"callAutomation": LOST_INVITATIONS})
    while (await bed.emulator("GET", "/emulator/faults"))["callAutomation"]["remaining"] > 0:
        if stop.is_set():
            return
        await asyncio.sleep(0.1)
    for fault in itertools.cycle(ACS_FAULTS):
        await bed.emulator("PUT", "/emulator/faults", {"callAutomation": fault})
        try:
            await asyncio.wait_for(stop.wait(), 1.5)
            return
        except TimeoutError:
            continue


async def test_lost_and_refused_answers_double_nothing(tmp_path: Path) -> None:
    async with process_bed(tmp_path) as bed:
        bot = bed.bot(state_url=f"sqlite:///{tmp_path / 'roombot.db'}")
        await bot.start()
        rooms = await connected_rooms(bed, bot)
        stop = asyncio.Event()
        faults = asyncio.create_task(rotate_faults(bed, stop))
        pressing = asyncio.create_task(keep_pressing_one(bed, rooms, DIALOUTS, stop))
        try:
            dialouts, announcements = await asyncio.gather(
                trigger_dialouts(bed, bot, rooms, DIALOUTS, repeats=2), announce(bed, bot, rooms)
            )
            # The faults stay while everything settles: a lost answer must cost time only.
            await check_outcomes(bed, bot, rooms, dialouts, announcements)
        finally:
            stop.set()
            await asyncio.gather(faults, pressing)
        requests = await bed.emulator("GET", "/emulator/requests")
        faulted = Counter(
            request["path"].rsplit(":", 1)[-1] for request in requests if request["status"] >= 500
        )
        # The faults were there: invitations (the first three at least) and plays answered 5xx.
        assert faulted["add"] >= LOST_INVITATION_COUNT, faulted
        assert faulted["play"] > 0, faulted


async def menus_for(bed: ProcessBed, bot: Reachable, rooms: list[str], dialouts: dict[str, str]) -> list[str]:
    """One more menu for each interpreter in the call; the session ids."""
    sessions = []
    for index, number in enumerate(dialouts):
        status, body = await bed.call_api(
            bot,
            "POST",
            f"/api/rooms/{rooms[index % len(rooms)]}/menus",
            {"participant": f"4:{number}", "menu": "interpreter-confirm"},
        )
        assert status == 202, body
        sessions.append(str(body["sessionId"]))
    return sessions


async def keep_pressing_one(bed: ProcessBed, rooms: list[str], count: int, stop: asyncio.Event) -> None:
    """Each interpreter in a call presses 1 every second, as a person asked again and again
    would, however long lost events make the menus take (a phone's script ends after 50 keys)."""
    while not stop.is_set():
        for index in range(count):
            raw_id = quote(f"4:{interpreter_number(index)}", safe="")
            path = f"/emulator/rooms/{rooms[index % len(rooms)]}/participants/{raw_id}:dtmf"
            # Refused while the phone is not in the call yet (or no more).
            async with bed.http.post(bed.emulator_url + path, json={"tones": "1"}) as reply:
                await reply.read()
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def test_dropped_duplicated_reordered_callbacks_lose_no_outcome(tmp_path: Path) -> None:
    async with process_bed(tmp_path) as bed:
        bot = bed.bot(state_url=f"sqlite:///{tmp_path / 'roombot.db'}")
        await bot.start()
        rooms = await connected_rooms(bed, bot)
        await bed.emulator("PUT", "/emulator/faults", {"callbacks": CALLBACK_FAULTS})
        stop = asyncio.Event()
        pressing = asyncio.create_task(keep_pressing_one(bed, rooms, DIALOUTS, stop))
        try:
            dialouts, announcements = await asyncio.gather(
                trigger_dialouts(bed, bot, rooms, DIALOUTS), announce(bed, bot, rooms)
            )
            await check_outcomes(bed, bot, rooms, dialouts, announcements)
            sessions = await menus_for(bed, bot, rooms, dialouts)
            finished: dict[str, dict[str, Any]] = await settled(
                bed, bot, [f"/api/menu-sessions/{session}" for session in sessions], MENU_ENDS
            )
        finally:
            stop.set()
            await pressing
        outcomes = Counter(doc["status"] for doc in finished.values())
        assert outcomes == {"completed": len(sessions)}, finished
        async with bed.http.get(bot.url + "/metrics") as reply:
            metrics = await reply.text()
        duplicates = [line for line in metrics.splitlines() if 'outcome="duplicate"' in line]
        # The duplicated deliveries reached the bot, which knew them for what they were.
        assert sum(float(line.rsplit(" ", 1)[1]) for line in duplicates) > 0, duplicates
