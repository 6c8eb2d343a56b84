"""`end_call`'s timers: an end that is rescheduled while the earlier one is already ending the call
keeps the new timer, so stopping the bot (or the call's disconnect) still cancels it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from handlers.end_call import EndCallConfig, EndCallHandler

CALL = "call-1"


class HangingEnd(EndCallHandler):
    """An end_call whose terminate request never returns: the first end is caught mid-way."""

    def __init__(self) -> None:
        super().__init__(EndCallConfig())
        self.ending = asyncio.Event()

    async def end_for_everyone(self, call_connection_id: str) -> None:
        self.ending.set()
        await asyncio.Event().wait()


def end_timers() -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == f"end_call:{CALL}" and not task.done()]


async def test_a_rescheduled_end_is_still_cancelled_when_the_bot_stops() -> None:
    handler = HangingEnd()
    handler._schedule(CALL, datetime.now(UTC) - timedelta(seconds=1))
    await asyncio.wait_for(handler.ending.wait(), 5)

    # The room's validity moved: the earlier end is cancelled mid-terminate, a new one waits.
    handler._schedule(CALL, datetime.now(UTC) + timedelta(hours=1))
    for _ in range(5):
        await asyncio.sleep(0)
    await handler.stop()

    assert end_timers() == []
