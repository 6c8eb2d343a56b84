"""The media scheduler's watchdog: a job whose completion event is lost (ACS does not guarantee
delivery) frees its audience after a bound, instead of holding every later job forever."""

from __future__ import annotations

import asyncio

import pytest

from bot.events import PlayCompleted
from bot.media.scheduler import MediaJobTimedOut, MediaScheduler
from tests.unit.media.jobs import OTHER, PERSON, Starts, started


async def test_a_job_whose_completion_is_lost_is_released_and_the_queue_moves_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduler = MediaScheduler(completion_timeout=0.05)
    starts = Starts()
    lost = scheduler.submit(starts.job("menus:s1:1", PERSON))
    behind = scheduler.submit(starts.job("announcements:2", PERSON))

    with pytest.raises(MediaJobTimedOut, match="menus:s1:1"):
        await asyncio.wait_for(asyncio.shield(lost.done), 5)
    await asyncio.wait_for(started(starts, "announcements:2"), 5)

    assert starts.started == ["menus:s1:1", "announcements:2"]
    assert "no completion event" in caplog.text
    # The one behind it completes normally and is not failed by a watchdog of its own.
    await scheduler.observe(
        PlayCompleted(id="e2", call_connection_id="call-1", operation_context="announcements:2")
    )
    assert behind.done.result().operation_context == "announcements:2"
    assert scheduler.pending("call-1") == 0
    await scheduler.close()


async def test_a_looping_play_is_never_released_by_the_watchdog() -> None:
    scheduler = MediaScheduler(completion_timeout=0.05)
    starts = Starts()
    looping = scheduler.submit(starts.job("announcements:hold", PERSON, loop=True))
    lost = scheduler.submit(starts.job("announcements:other", OTHER))

    with pytest.raises(MediaJobTimedOut):
        await asyncio.wait_for(asyncio.shield(lost.done), 5)

    # The other audience's job, started later with the same bound, has timed out: the loop has not.
    assert not looping.done.done()
    assert scheduler.pending("call-1") == 1
    await scheduler.close()


async def test_a_recognize_gets_its_timeouts_on_top_of_the_bound() -> None:
    scheduler = MediaScheduler(completion_timeout=0.05)
    starts = Starts()
    recognize = scheduler.submit(starts.job("menus:s1:1", PERSON, expected_seconds=60.0))
    play = scheduler.submit(starts.job("announcements:1", OTHER))

    with pytest.raises(MediaJobTimedOut):
        await asyncio.wait_for(asyncio.shield(play.done), 5)

    assert not recognize.done.done()
    await scheduler.close()


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="completion_timeout"):
        MediaScheduler(completion_timeout=0)
