"""Ordered, per-call event dispatch.

Each call connection with events to process gets one queue and one worker task, so one call's
events are processed strictly in the order they were submitted while different calls proceed
concurrently. `submit` never waits: the callback route answers ACS at once and a slow handler
delays only its own call. A worker leaves as soon as its queue is empty, and the call's next
event starts another: a call between events (most of them, most of the time: a menu waiting for a
key, an announcement playing) holds no task, no timer and no queue, which is what the garbage
collector would otherwise walk thousands of times over at a thousand calls.
A failing event is logged and counted, and the worker goes on with the next one (the error policy
for events; commands from the HTTP APIs fail loudly elsewhere).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from bot.events import CallEvent
from bot.logs import enter_call
from bot.stopping import cancel_and_wait

logger = logging.getLogger(f"roombot.{__name__}")


@dataclass(frozen=True, slots=True)
class DispatcherStats:
    """Counters for /metrics: `processed` counts every finished event, the `failed` ones included."""

    processed: int
    failed: int
    queue_depth: int
    # Calls whose events are being processed now.
    workers: int


@dataclass(slots=True)
class _Worker:
    queue: deque[CallEvent] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class CallDispatcher:
    def __init__(self, process: Callable[[CallEvent], Awaitable[None]]) -> None:
        self._process = process
        self._workers: dict[str, _Worker] = {}
        self._unfinished = 0
        self._all_done = asyncio.Event()
        self._all_done.set()
        self._closed = False
        self.processed = 0
        self.failed = 0

    @property
    def queue_depth(self) -> int:
        """Events submitted and not yet started."""
        return sum(len(worker.queue) for worker in self._workers.values())

    @property
    def active_workers(self) -> int:
        return len(self._workers)

    def stats(self) -> DispatcherStats:
        return DispatcherStats(
            processed=self.processed,
            failed=self.failed,
            queue_depth=self.queue_depth,
            workers=self.active_workers,
        )

    def submit(self, events: Iterable[CallEvent]) -> None:
        """Queue events for processing, each behind the earlier events of its call. Never blocks."""
        if self._closed:
            raise RuntimeError("the dispatcher is closed")
        for event in events:
            call_id = event.call_connection_id
            worker = self._workers.get(call_id)
            if worker is None:
                worker = self._workers[call_id] = _Worker()
            worker.queue.append(event)
            if worker.task is None or worker.task.done():
                # A worker killed by something `process` let through (a cancellation from inside a
                # handler) is replaced, so its call's remaining events still run, in order.
                worker.task = asyncio.create_task(self._run(call_id, worker), name=f"dispatch:{call_id}")
            self._unfinished += 1
            self._all_done.clear()

    async def _run(self, call_connection_id: str, worker: _Worker) -> None:
        # The worker's task runs in a context of its own: set once here, every line logged while
        # it works on the call, and by the tasks it starts, carries the call's id.
        enter_call(call_connection_id)
        current = asyncio.current_task()
        queue, process = worker.queue, self._process
        while queue:
            if current is not None and current.cancelling():
                # Asked to stop, yet no CancelledError came out: code the worker awaited swallowed
                # it. Going on would run the next event of a dispatcher being cleared.
                raise asyncio.CancelledError
            event = queue.popleft()
            # One frame for the whole loop: the try is inline rather than a coroutine per event.
            try:
                await process(event)
            except asyncio.CancelledError:
                if current is None or current.cancelling():
                    raise
                # Raised by something the handler awaited, not a request to stop this worker: a
                # failure of this event like any other.
                self._log_failure(call_connection_id, event)
            except Exception:
                self._log_failure(call_connection_id, event)
            finally:
                self.processed += 1
                self._unfinished -= 1
                if self._unfinished == 0:
                    self._all_done.set()
        # No await between the emptiness check and the removal: `submit` cannot slip an event in
        # for a worker that is leaving.
        if self._workers.get(call_connection_id) is worker:
            del self._workers[call_connection_id]

    def _log_failure(self, call_connection_id: str, event: CallEvent) -> None:
        self.failed += 1
        logger.exception(
            "processing %s for call %s failed",
            event.type,
            call_connection_id,
            extra={"call_connection_id": call_connection_id, "event_type": event.type},
        )

    async def drain(self) -> None:
        """Wait until every submitted event, including ones submitted meanwhile, is processed."""
        await self._all_done.wait()

    async def close(self) -> None:
        """Stop every worker; events still queued are dropped. Further `submit`s raise."""
        self._closed = True
        await self.clear()

    async def clear(self) -> None:
        """Stop every worker and drop the events still queued; later `submit`s start afresh."""
        tasks = [worker.task for worker in self._workers.values() if worker.task is not None]
        self._workers.clear()
        await cancel_and_wait(tasks)
        self._unfinished = 0
        self._all_done.set()
