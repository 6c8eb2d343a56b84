"""Requests made at about the same time, sent as one: a group commit of the callback intake.

Every callback POST must store its events before it is answered. Under load, many POSTs are in
flight at once; their writes, made while the loop's turns keep bringing more (`gather`), go to the
server as one request (one Redis script call, one SQLite commit), and each POST gets its part of
the answer. A lone request goes on the next turn of the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# Items per request at most; more wait for the next one.
MAX_ITEMS = 1000
# Turns of the event loop a group commit waits at most, and how many turns in a row without a new
# write end the wait (`gather`).
MAX_GATHER_PASSES = 8
IDLE_PASSES = 2


def no_callbacks_open() -> int:
    return 0


async def gather(
    arrivals: Callable[[], int],
    open_callbacks: Callable[[], int],
    *,
    full: Callable[[], bool] = lambda: False,
) -> None:
    """Wait one turn of the event loop (what is ready runs first, and joins); then, while other
    callback POSTs are open (``open_callbacks()`` above one: a load, not a lone key press), more
    turns as long as they bring writes (``arrivals()`` counts what was queued so far): it ends
    after `IDLE_PASSES` turns in a row without one, `MAX_GATHER_PASSES` turns, or ``full()``.

    Measured against one turn always (`bench/callbacks.py`, one event per POST, 16 in flight, this
    2-core machine, three runs): server CPU per callback event from 2.5x to 2.1-2.5x the JWT floor
    with SQLite, from 2.8x to 2.0-2.3x with Redis. Waiting so without the open-callbacks condition
    halved SQLite's commits but made the p99 from a RecognizeCompleted to the next request at 1,000
    quiet menu calls up to 1.8x longer (`bench/latency.py`); with it, no longer than before
    (3.1-3.3x a bare reactor in four runs)."""
    await asyncio.sleep(0)
    idle = 0
    for _ in range(MAX_GATHER_PASSES - 1):
        if open_callbacks() < 2 or full():
            return
        seen = arrivals()
        await asyncio.sleep(0)
        idle = idle + 1 if arrivals() == seen else 0
        if idle == IDLE_PASSES:
            return


class Grouped(Generic[ItemT, ResultT]):
    def __init__(self, run: Callable[[list[ItemT]], Awaitable[list[ResultT]]]) -> None:
        """``run`` answers a list of items with one result per item, in order. Requests are not
        held back while one is out: several may be out at once, started in the order they were
        made (SQLite's worker runs them in that order; Redis orders by its own counter)."""
        self._run = run
        # Callback POSTs open now (see `gather`); the store sets it from the intake.
        self.open_callbacks: Callable[[], int] = no_callbacks_open
        self._arrivals = 0
        self._queue: list[tuple[Sequence[ItemT], asyncio.Future[list[ResultT]]]] = []
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
        await gather(lambda: self._arrivals, self.open_callbacks, full=lambda: len(self._queue) >= MAX_ITEMS)
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
