"""Keyed one-shot timers that hold no task while they wait.

A handler that waits with ``await asyncio.sleep(delay)`` in a task of its own keeps, for as long
as it waits, a task, its coroutines and frames, a future and a context: for a call-long wait
(the end of a room's validity, its warning) that is a handful of objects per call, which every
garbage collection walks again, thousands of times over with thousands of calls. Here a waiting
timer is one handle on the event loop's own timer heap (``loop.call_later``); only when it is due
does it start a task for its action. One key has at most one timer: scheduling it again replaces
the earlier one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bot.stopping import cancel_and_wait

logger = logging.getLogger(f"roombot.{__name__}")

Action = Callable[..., Coroutine[Any, Any, None]]


class Timers:
    """One-shot timers by key; ``name`` prefixes the names of the tasks they start when due."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._waiting: dict[str, asyncio.TimerHandle] = {}
        # Started when due and not finished yet, by key.
        self._running: dict[str, asyncio.Task[None]] = {}

    def schedule(self, key: str, delay: float, action: Action, *args: Any) -> None:
        """Run ``action(*args)`` in a task of its own ``delay`` seconds from now (at once when the
        delay is not positive), instead of what ``key`` was waiting for or running. Arguments
        rather than a closure: the handle keeps them for as long as it waits."""
        self.cancel(key)
        loop = asyncio.get_running_loop()
        self._waiting[key] = loop.call_later(max(0.0, delay), self._start, key, action, args)

    def _start(self, key: str, action: Action, args: tuple[Any, ...]) -> None:
        del self._waiting[key]
        task = asyncio.create_task(action(*args), name=f"{self._name}:{key}")
        self._running[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        # Only its own entry: the key may have been scheduled and started again meanwhile.
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled() and task.exception() is not None:
            logger.error("timer %s:%s failed", self._name, key, exc_info=task.exception())

    def cancel(self, key: str) -> None:
        """Forget ``key``'s waiting timer, or cancel its action if it has started and not ended."""
        handle = self._waiting.pop(key, None)
        if handle is not None:
            handle.cancel()
        task = self._running.pop(key, None)
        if task is not None:
            task.cancel()

    def waiting(self, key: str) -> bool:
        """Whether a timer for ``key`` waits to be due."""
        return key in self._waiting

    def __len__(self) -> int:
        """Timers waiting or running."""
        return len(self._waiting) + len(self._running)

    async def stop(self) -> None:
        """Cancel every waiting timer and every running action, and wait for those to end."""
        for handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        running = list(self._running.values())
        self._running.clear()
        await cancel_and_wait(running)
