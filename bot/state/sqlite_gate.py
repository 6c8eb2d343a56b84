"""Shared/exclusive access to the SQLite store's one connection.

A single statement is a transaction of its own, so any number may be queued on aiosqlite's worker
thread at once, where they run back to back in queue order. A `BEGIN ... COMMIT` spans several
awaits and must have the connection alone, or another coroutine's statement would run inside it.
A waiting transaction stops new statements from entering, so a steady stream cannot starve it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ConnectionGate:
    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._statements = 0
        self._exclusive = False
        self._waiting_exclusive = 0

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._exclusive and not self._waiting_exclusive)
            self._statements += 1
        try:
            yield
        finally:
            async with self._changed:
                self._statements -= 1
                self._changed.notify_all()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._changed:
            self._waiting_exclusive += 1
            try:
                await self._changed.wait_for(lambda: not self._exclusive and not self._statements)
            finally:
                self._waiting_exclusive -= 1
            self._exclusive = True
        try:
            yield
        finally:
            async with self._changed:
                self._exclusive = False
                self._changed.notify_all()
