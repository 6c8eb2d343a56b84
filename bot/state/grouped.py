"""Requests made at about the same time, sent as one: a group commit of the callback intake.

Every callback POST must store its events before it is answered. Under load, many POSTs are in
flight at once; their writes, made while the loop's turns keep bringing more (`gather`), go to the
server as one request (one Redis script call, one SQLite operation), and each POST gets its part
of the answer. A lone request is sent once the loop has turned idle twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# Items per request at most; more wait for the next one.
MAX_ITEMS = 1000
# A request waits while the loop's turns keep bringing more, up to this many turns; two turns in a
# row that bring nothing end the wait (`gather`).
MAX_GATHER_PASSES = 8
IDLE_PASSES = 2


async def gather(arrivals: Callable[[], int], *, full: Callable[[], bool] = lambda: False) -> None:
    """Let the event loop turn while ``arrivals()`` (a count of what was queued so far) grows,
    up to `MAX_GATHER_PASSES` turns, ended by `IDLE_PASSES` turns in a row without one, or at
    once when ``full()``: a group commit that waits only while the load keeps coming, so a lone
    request waits two turns of an idle loop."""
    idle = 0
    for _ in range(MAX_GATHER_PASSES):
        seen = arrivals()
        await asyncio.sleep(0)
        idle = idle + 1 if arrivals() == seen else 0
        if idle == IDLE_PASSES or full():
            return


class Grouped(Generic[ItemT, ResultT]):
    def __init__(
        self, run: Callable[[list[ItemT]], Awaitable[list[ResultT]]], *, gathering: bool = True
    ) -> None:
        """``run`` answers a list of items with one result per item, in order. Requests are not
        held back while one is out: several may be out at once, started in the order they were
        made (SQLite's worker runs them in that order; Redis orders by its own counter).
        ``gathering=False``: what one turn of the loop brought goes at once (for a ``run`` that
        gathers on its own, as SQLite's worker does)."""
        self._run = run
        self._gathering = gathering
        self._queue: list[tuple[Sequence[ItemT], asyncio.Future[list[ResultT]]]] = []
        self._arrivals = 0
        self._sender: asyncio.Task[None] | None = None
        self._out: set[asyncio.Task[None]] = set()

    async def __call__(self, items: Sequence[ItemT]) -> list[ResultT]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[ResultT]] = loop.create_future()
        self._queue.append((items, future))
        self._arrivals += 1
        if self._sender is None or self._sender.done():
            # Once the loop has run what is ready: the requests made meanwhile join this one.
            self._sender = loop.create_task(self._send_gathered(), name="grouped-gather")
        return await future

    async def _send_gathered(self) -> None:
        if self._gathering:
            await gather(lambda: self._arrivals, full=lambda: len(self._queue) >= MAX_ITEMS)
        else:
            await asyncio.sleep(0)
        self._send()

    def _send(self) -> None:
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
