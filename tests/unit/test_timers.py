"""`bot.timers.Timers`: keyed one-shot timers that hold no task until they are due."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.timers import Timers


def tasks_named(name: str) -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == name and not task.done()]


async def test_a_timer_waits_without_a_task_and_runs_its_action_when_due() -> None:
    timers = Timers("test")
    ran = asyncio.Event()
    given: list[str] = []

    async def action(label: str) -> None:
        given.append(label)
        ran.set()

    timers.schedule("a", 0.05, action, "its argument")
    assert timers.waiting("a")
    assert tasks_named("test:a") == []
    await asyncio.wait_for(ran.wait(), 5)
    await asyncio.sleep(0)
    assert given == ["its argument"]
    assert not timers.waiting("a")
    assert len(timers) == 0


async def test_scheduling_a_key_again_replaces_its_timer() -> None:
    timers = Timers("test")
    ran: list[str] = []
    second_ran = asyncio.Event()

    async def action(label: str) -> None:
        ran.append(label)
        if label == "second":
            second_ran.set()

    timers.schedule("a", 0.02, action, "first")
    timers.schedule("a", 0.04, action, "second")
    timers.schedule("b", 0.0, action, "other key")
    # The replaced timer was due first: had it not been replaced, it would have run by now.
    await asyncio.wait_for(second_ran.wait(), 5)
    assert sorted(ran) == ["other key", "second"]


async def test_cancel_forgets_a_waiting_timer_and_stops_a_running_action() -> None:
    timers = Timers("test")
    started = asyncio.Event()
    ran: list[str] = []

    async def hangs() -> None:
        started.set()
        await asyncio.Event().wait()

    async def never() -> None:
        ran.append("never")

    timers.schedule("waiting", 0.02, never)
    timers.cancel("waiting")
    timers.schedule("running", 0.0, hangs)
    await asyncio.wait_for(started.wait(), 5)
    assert tasks_named("test:running") != []
    timers.cancel("running")
    timers.cancel("unknown")
    await asyncio.sleep(0.1)
    assert ran == []
    assert tasks_named("test:running") == []
    assert len(timers) == 0


async def test_stop_cancels_what_waits_and_what_runs() -> None:
    timers = Timers("test")
    started = asyncio.Event()

    async def hangs() -> None:
        started.set()
        await asyncio.Event().wait()

    timers.schedule("later", 3600, hangs)
    timers.schedule("now", 0, hangs)
    await asyncio.wait_for(started.wait(), 5)
    assert len(timers) == 2
    await timers.stop()
    assert len(timers) == 0
    assert not timers.waiting("later")
    assert tasks_named("test:now") == []


async def test_a_failing_action_is_logged_and_forgotten(caplog: pytest.LogCaptureFixture) -> None:
    timers = Timers("test")

    async def fails() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="roombot.bot.timers"):
        timers.schedule("a", 0, fails)
        for _ in range(5):
            await asyncio.sleep(0)
    assert len(timers) == 0
    assert any("timer test:a failed" in record.getMessage() for record in caplog.records)
