"""Withdrawing a queued media job: what cancelling a queued announcement relies on."""

from __future__ import annotations

import asyncio

from bot.events import PlayCompleted
from bot.media.scheduler import MediaJob, MediaScheduler


class Starts:
    """Records which jobs the scheduler started, by operation context."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def job(self, context: str, targets: frozenset[str] | None = None) -> MediaJob:
        async def start() -> None:
            self.started.append(context)

        return MediaJob("call-1", context, start, targets=targets)


def completed(context: str) -> PlayCompleted:
    return PlayCompleted(id=f"evt-{context}", call_connection_id="call-1", operation_context=context)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_withdrawn_job_never_starts_and_the_queue_moves_on() -> None:
    scheduler = MediaScheduler()
    starts = Starts()
    first = scheduler.submit(starts.job("announcements:1"))
    second = scheduler.submit(starts.job("announcements:2"))
    third = scheduler.submit(starts.job("announcements:3"))
    await settle()

    assert scheduler.withdraw(second)
    await scheduler.observe(completed("announcements:1"))
    await settle()

    assert starts.started == ["announcements:1", "announcements:3"]
    assert second.done.cancelled()
    assert first.done.result().operation_context == "announcements:1"
    assert not third.done.done()
    await scheduler.close()


async def test_a_started_job_cannot_be_withdrawn() -> None:
    scheduler = MediaScheduler()
    starts = Starts()
    running = scheduler.submit(starts.job("announcements:1"))
    await settle()

    assert not scheduler.withdraw(running)
    assert not running.done.done()
    assert scheduler.pending("call-1") == 1
    await scheduler.close()


async def test_withdrawing_twice_or_after_the_end_is_harmless() -> None:
    scheduler = MediaScheduler()
    starts = Starts()
    scheduler.submit(starts.job("announcements:1"))
    waiting = scheduler.submit(starts.job("announcements:2"))

    assert scheduler.withdraw(waiting)
    assert not scheduler.withdraw(waiting)
    await scheduler.close()
    assert not scheduler.withdraw(waiting)
