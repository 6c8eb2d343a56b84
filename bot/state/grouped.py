"""Requests made at about the same time, sent as one: group commit for a store without threads.

Every callback POST must store its events before it is answered. Under load, many POSTs are in
flight at once; their writes, made within one turn of the event loop, go to the server as one
request (one Redis script call for all of them), and each POST gets its own part of the answer.
Nothing waits on purpose: a lone request is sent on the next turn of the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# Items per request at most; more wait for the next one.
MAX_ITEMS = 1000


class Grouped(Generic[ItemT, ResultT]):
    def __init__(self, run: Callable[[list[ItemT]], Awaitable[list[ResultT]]]) -> None:
        """``run`` answers a list of items with one result per item, in order."""
        self._run = run
        self._queue: list[tuple[Sequence[ItemT], asyncio.Future[list[ResultT]]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def __call__(self, items: Sequence[ItemT]) -> list[ResultT]:
        future: asyncio.Future[list[ResultT]] = asyncio.get_running_loop().create_future()
        self._queue.append((items, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="grouped-send")
        return await future

    async def _send(self) -> None:
        while self._queue:
            # One turn of the loop: the requests made meanwhile join this one.
            await asyncio.sleep(0)
            batch: list[tuple[Sequence[ItemT], asyncio.Future[list[ResultT]]]] = []
            count = 0
            while self._queue and (not batch or count + len(self._queue[0][0]) <= MAX_ITEMS):
                entry = self._queue.pop(0)
                batch.append(entry)
                count += len(entry[0])
            try:
                results = await self._run([item for items, _ in batch for item in items])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            start = 0
            for items, future in batch:
                if not future.done():
                    future.set_result(results[start : start + len(items)])
                start += len(items)
