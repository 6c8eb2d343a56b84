"""A media job whose request went unanswered (ACS keeps no repeatability for play and recognize)
keeps its audience: its own events may still say it ran; only when its bound passes with no sign
of it does it fail with MediaJobUnconfirmed, and the jobs behind it go on."""

from __future__ import annotations

import asyncio

import pytest

from bot.acs.types import AcsUnavailable
from bot.events import PlayCompleted
from bot.media.scheduler import MediaJob, MediaJobUnconfirmed, MediaScheduler
from tests.unit.media.jobs import PERSON, Starts, started


def unanswered(starts: Starts, context: str) -> MediaJob:
    job = starts.job(context, PERSON)
    answered = job.start

    async def start() -> None:
        await answered()
        raise AcsUnavailable("play: HTTP 503", status=503)

    job.start = start
    return job


async def test_an_unanswered_job_holds_its_audience_until_its_completion_comes() -> None:
    scheduler = MediaScheduler(completion_timeout=30.0)
    starts = Starts()
    lost_answer = scheduler.submit(unanswered(starts, "announcements:1"))
    behind = scheduler.submit(starts.job("announcements:2", PERSON))
    await asyncio.wait_for(started(starts, "announcements:1"), 5)
    await asyncio.sleep(0.05)

    # ACS did play it: nothing else reaches the same person meanwhile.
    assert starts.started == ["announcements:1"]
    await scheduler.observe(
        PlayCompleted(id="e1", call_connection_id="call-1", operation_context="announcements:1")
    )

    assert lost_answer.done.result().operation_context == "announcements:1"
    await asyncio.wait_for(started(starts, "announcements:2"), 5)
    assert not behind.done.done()
    await scheduler.close()


async def test_an_unanswered_job_with_no_sign_of_it_fails_unconfirmed_and_the_queue_moves_on() -> None:
    scheduler = MediaScheduler(completion_timeout=0.05)
    starts = Starts()
    lost = scheduler.submit(unanswered(starts, "menus:s1:1"))
    scheduler.submit(starts.job("announcements:2", PERSON))

    with pytest.raises(MediaJobUnconfirmed, match="menus:s1:1"):
        await asyncio.wait_for(asyncio.shield(lost.done), 5)
    await asyncio.wait_for(started(starts, "announcements:2"), 5)

    # Sent once: resending is the submitter's call, not the scheduler's.
    assert starts.started == ["menus:s1:1", "announcements:2"]
    await scheduler.close()


async def test_an_unanswered_looping_play_fails_at_once() -> None:
    scheduler = MediaScheduler(completion_timeout=30.0)
    starts = Starts()
    job = unanswered(starts, "announcements:hold")
    job.loop = True
    looping = scheduler.submit(job)

    # A loop never completes by itself, so there is no completion to wait for.
    with pytest.raises(AcsUnavailable):
        await asyncio.wait_for(asyncio.shield(looping.done), 5)
    assert scheduler.pending("call-1") == 0
    await scheduler.close()
