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
    # The new end waits as a timer, not as a task; the one that was ending the call is gone.
    assert handler.ends.waiting(CALL)
    assert end_timers() == []
    await handler.stop()

    assert not handler.ends.waiting(CALL)
    assert len(handler.ends) == 0
    assert end_timers() == []
