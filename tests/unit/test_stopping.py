"""Stopping background tasks: a shutdown ends even when a task swallows its cancellation."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot import stopping
from bot.stopping import cancel_and_wait


async def swallows_first_cancel(ended: list[str]) -> None:
    """A loop whose first cancellation is eaten by the code it calls, as a client library may."""
    swallowed = False
    while True:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            if swallowed:
                ended.append("cancelled")
                raise
            swallowed = True


async def ignores_cancellation(released: asyncio.Event) -> None:
    """Carries on through every cancellation until the test releases it."""
    while not released.is_set():
        try:
            await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            continue


async def fails() -> None:
    raise RuntimeError("broke while running")


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again_until_it_ends(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stopping, "RECANCEL_SECONDS", 0.05)
    ended: list[str] = []
    stubborn = asyncio.create_task(swallows_first_cancel(ended), name="stubborn")
    plain = asyncio.create_task(asyncio.sleep(60), name="plain")
    await asyncio.sleep(0)

    await cancel_and_wait([stubborn, plain])

    assert stubborn.done()
    assert plain.done()
    assert ended == ["cancelled"]
    assert "cancelling again: stubborn" in caplog.text


async def test_a_task_that_never_ends_is_given_up_on_loudly_instead_of_hanging_the_shutdown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stopping, "RECANCEL_SECONDS", 0.01)
    caplog.set_level(logging.ERROR)
    released = asyncio.Event()
    task = asyncio.create_task(ignores_cancellation(released), name="deaf")
    await asyncio.sleep(0)

    await cancel_and_wait([task])

    assert not task.done()
    assert "giving up on tasks that ignore cancellation: deaf" in caplog.text
    released.set()
    await task


async def test_errors_of_stopped_tasks_are_not_raised_to_the_one_stopping_them() -> None:
    failed = asyncio.create_task(fails())
    await asyncio.sleep(0)

    await cancel_and_wait([failed, asyncio.create_task(asyncio.sleep(60))])

    assert isinstance(failed.exception(), RuntimeError)
