"""Stopping background tasks so that a shutdown always ends.

`task.cancel()` followed by `await task` waits forever for a task that swallowed its
cancellation: code that turns the CancelledError into another error mid-operation (a client
library's connection-pool wait, say), which the task's own loop then catches and carries on
from. `cancel_and_wait` asks again until each task has ended, and gives up, loudly, on one that
never does, rather than hanging the process's shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(f"roombot.{__name__}")

# How long a cancelled task gets to end before it is cancelled again, and how many times.
RECANCEL_SECONDS = 1.0
CANCEL_ATTEMPTS = 10


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and return once each has ended; their errors are not raised."""
    every = list(tasks)
    pending = {task for task in every if not task.done()}
    for _ in range(CANCEL_ATTEMPTS):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
        if pending:
            logger.warning(
                "still running %.0f s after being cancelled, cancelling again: %s",
                RECANCEL_SECONDS,
                _names(pending),
            )
    if pending:
        logger.error("giving up on tasks that ignore cancellation: %s", _names(pending))
    for task in every:
        if task.done() and not task.cancelled():
            # Retrieved, so asyncio does not report it as never retrieved; the task's own code
            # logged it if it mattered.
            task.exception()


def _names(tasks: Iterable[asyncio.Task[Any]]) -> str:
    return ", ".join(sorted(task.get_name() for task in tasks))
