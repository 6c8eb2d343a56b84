"""A bot killed with SIGKILL mid-flow and restarted on its SQLite file loses and doubles nothing.

Interpreter dial-outs with DTMF confirmation and room announcements run while the bot process is
killed twice; the emulator runs in a process of its own and keeps the calls going. The backend
retries a trigger whose answer it did not get, with the same ``Idempotency-Key``, as backends do.
Afterwards every dial-out must be final and right (the interpreter pressed 1: confirmed), each
phone rang once, every announcement completed and was played once.

Counts: ``CHAOS_DIALOUTS`` (default 16) dial-outs over four rooms; set it to 80 to run the full
figure by hand.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.chaos.scenario import announce, check_outcomes, connected_rooms, trigger_dialouts
from tests.support.processes import BotProcess, process_bed

DIALOUTS = int(os.environ.get("CHAOS_DIALOUTS", "16"))


async def chaos(bot: BotProcess) -> None:
    for pause in (1.5, 3.0):
        await asyncio.sleep(pause)
        await bot.kill()
        await asyncio.sleep(0.5)
        await bot.start()


async def test_two_kills_lose_and_double_nothing(tmp_path: Path) -> None:
    async with process_bed(tmp_path) as bed:
        bot = bed.bot(state_url=f"sqlite:///{tmp_path / 'roombot.db'}")
        await bot.start()
        rooms = await connected_rooms(bed, bot)

        dialouts, announcements, _ = await asyncio.gather(
            trigger_dialouts(bed, bot, rooms, DIALOUTS), announce(bed, bot, rooms), chaos(bot)
        )
        assert bot.starts == 3
        await check_outcomes(bed, bot, rooms, dialouts, announcements)
