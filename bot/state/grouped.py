"""Requests made at about the same time, sent as one: a group commit of the callback intake.

Every callback POST must store its events before it is answered. Under load, many POSTs are in
flight at once; their writes, made within one turn of the event loop, go to the server as one
request (one Redis script call, one SQLite operation), and each POST gets its part of the answer.
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
        """``run`` answers a list of items with one result per item, in order. Requests are not
        held back while one is out: several may be out at once, started in the order they were
        made (SQLite's worker runs them in that order; Redis orders by its own counter)."""
        self._run = run
        self._queue: list[tuple[Sequence[ItemT], asyncio.Future[list[ResultT]]]] = []
        self._scheduled = False
        self._out: set[asyncio.Task[None]] = set()

    async def __call__(self, items: Sequence[ItemT]) -> list[ResultT]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[ResultT]] = loop.create_future()
        self._queue.append((items, future))
        if not self._scheduled:
            # Once the loop has run what is ready: the requests made meanwhile join this one.
            self._scheduled = True
            loop.call_soon(self._send)
        return await future

    def _send(self) -> None:
        self._scheduled = False
        while self._queue:
            batch: list[tuple[Sequence[ItemT], asyncio.Future[list[ResultT]]]] = []
            count = 0
            while self._queue and (not batch or count + len(self._queue[0][0]) <= MAX_ITEMS):
                entry = self._queue.pop(0)
                batch.append(entry)
                count += len(entry[0])
            task = asyncio.get_running_loop().create_task(self._deliver(batch), name="grouped-send")
            self._out.add(task)
            task.add_done_callback(self._out.discard)

    async def _deliver(self, batch: list[tuple[Sequence[ItemT], asyncio.Future[list[ResultT]]]]) -> None:
        try:
            results = await self._run([item for items, _ in batch for item in items])
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    if isinstance(exc, Exception):
                        future.set_exception(exc)
                    else:
                        future.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        start = 0
        for items, future in batch:
            if not future.done():
                future.set_result(results[start : start + len(items)])
            start += len(items)
