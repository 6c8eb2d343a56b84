"""Outbound delivery: Call Automation callbacks, and the ordered, retrying POST they share with
Event Grid.

ACS POSTs a JSON array of CloudEvents to a call connection's ``callbackUri``, with a fresh
``Authorization: Bearer <JWT>`` on every request, and each array holds exactly one event: that is
what Microsoft's recorded SDK test traffic shows (``Azure/azure-sdk-assets``, the Call Automation
session records), and what the JavaScript SDK's ``parseCallAutomationEvent(body)`` and the
quickstarts, which read ``body[0]`` only, rely on. Here every callback goes through
``CallbackDispatcher.submit``: one FIFO and one worker per (callbackUri, connection), so events
of one connection arrive in order, one POST after the other, while a callback endpoint that is
down or slow stalls only its own queue. The ``callbacks.batch`` fault sends the events already
waiting when a worker wakes together in one array instead, to test receivers that must handle
every element. A failed POST (connection error, timeout, 408, 429, 5xx) is
retried with backoff; after the last attempt, or on any other status, the events are dropped and
logged: ACS documents no delivery guarantee either. A queue holds at most ``MAX_PENDING`` events:
while its endpoint stalls, the oldest are dropped (with a warning) to make room for new ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import aiohttp

from emulator.clock import Clock

log = logging.getLogger(f"roombot.{__name__}")

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# Events one queue may hold while its endpoint is slow or down (at up to four attempts with
# backoff, a dead endpoint would otherwise keep every event of a busy call in memory).
MAX_PENDING = 1000


@dataclass(frozen=True)
class RetryPolicy:
    # Waits before each retry, in simulated seconds (scaled by the emulator's time scale).
    backoff_seconds: tuple[float, ...] = (1.0, 2.0, 4.0)
    # How long one POST may take. A network limit, so real seconds, never scaled.
    timeout_seconds: float = 10.0
    # Most events a worker takes at once (one POST each, or one array under the batch fault).
    max_batch: int = 10

    @property
    def attempts(self) -> int:
        return 1 + len(self.backoff_seconds)


def _retryable(status: int) -> bool:
    return status >= 500 or status in {408, 429}


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Callable[[], dict[str, str]],
    *,
    policy: RetryPolicy,
    clock: Clock,
    what: str,
    log_extra: Mapping[str, object] | None = None,
) -> int | None:
    """POST ``body`` until it is accepted or the policy gives up; ``headers`` is called for every
    attempt (each gets a fresh token). Returns the last HTTP status, or None when none came.
    ``log_extra`` goes on every line logged about it (a callback names its call connection)."""
    status: int | None = None
    timeout = aiohttp.ClientTimeout(total=policy.timeout_seconds)
    for attempt in range(policy.attempts):
        if attempt:
            await clock.sleep(policy.backoff_seconds[attempt - 1])
        try:
            async with session.post(url, data=body, headers=headers(), timeout=timeout) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("%s to %s failed (attempt %d): %r", what, url, attempt + 1, exc, extra=log_extra)
            status = None
            continue
        if status < 300:
            return status
        if not _retryable(status):
            log.warning("%s to %s answered %d; dropped", what, url, status, extra=log_extra)
            return status
        log.info("%s to %s answered %d (attempt %d)", what, url, status, attempt + 1, extra=log_extra)
    log.warning("%s to %s dropped after %d attempts", what, url, policy.attempts, extra=log_extra)
    return status


class OrderedQueues(Generic[K, T]):
    """One FIFO and one worker task per key; a worker hands ``handle`` every item waiting (up to
    ``max_batch``) and exits after ``idle_seconds`` without work, so finished calls leave nothing
    behind. A queue keeps at most ``max_pending`` items: putting one more drops the oldest."""

    def __init__(
        self,
        handle: Callable[[K, list[T]], Awaitable[None]],
        *,
        max_batch: int,
        idle_seconds: float = 30.0,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._idle_seconds = idle_seconds
        self._max_pending = max_pending
        self._workers: dict[K, tuple[asyncio.Queue[T], asyncio.Task[None]]] = {}

    def put(self, key: K, item: T) -> None:
        entry = self._workers.get(key)
        if entry is None:
            queue: asyncio.Queue[T] = asyncio.Queue()
            entry = (queue, asyncio.create_task(self._run(key, queue)))
            self._workers[key] = entry
        queue = entry[0]
        if queue.qsize() >= self._max_pending:
            queue.get_nowait()
            queue.task_done()
            log.warning("%r has %d items waiting; the oldest was dropped", key, self._max_pending)
        queue.put_nowait(item)

    def active_keys(self) -> list[K]:
        return list(self._workers)

    async def _run(self, key: K, queue: asyncio.Queue[T]) -> None:
        while True:
            try:
                async with asyncio.timeout(self._idle_seconds):
                    first = await queue.get()
            except TimeoutError:
                # Nothing can be put between this check and the removal: no await in between.
                if queue.empty():
                    del self._workers[key]
                    return
                continue
            batch = [first]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._handle(key, batch)
            except Exception:
                # One broken delivery must not silence the rest of this queue.
                log.exception("delivery to %r failed", key)
            finally:
                for _ in batch:
                    queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far has been delivered or dropped."""
        await asyncio.gather(*(queue.join() for queue, _ in list(self._workers.values())))

    async def close(self) -> None:
        tasks = [task for _, task in self._workers.values()]
        self._workers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class DeliveryFaults(Protocol):
    """Faults injected into callback delivery (``emulator.faults`` sets them)."""

    def drops(self) -> bool:
        """Whether to lose the event being submitted."""

    def delay_seconds(self) -> float:
        """Simulated seconds to wait before each delivery."""

    def deliveries(self, events: list[T]) -> list[list[T]]:
        """The POST bodies that carry ``events`` (queued together), in the order they go out."""


def one_per_post(events: list[T]) -> list[list[T]]:
    """The bodies ACS sends: one event each, in order."""
    return [[event] for event in events]


class CallbackDispatcher:
    """The single path of every Call Automation callback, and so where delivery faults apply."""

    def __init__(
        self,
        *,
        token: Callable[[], str],
        clock: Clock,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._token = token
        self._clock = clock
        self._policy = policy or RetryPolicy()
        self._queues: OrderedQueues[tuple[str, str], dict[str, Any]] = OrderedQueues(
            self._deliver, max_batch=self._policy.max_batch
        )
        self.session: aiohttp.ClientSession | None = None
        self.faults: DeliveryFaults | None = None

    def submit(self, url: str, connection_id: str, event: dict[str, Any]) -> None:
        """Queue one CloudEvent for ``url``; returns at once, delivery happens in the background."""
        if self.faults is not None and self.faults.drops():
            log.info(
                "callback %s for %s dropped by an injected fault",
                event.get("type"),
                connection_id,
                extra={"call_connection_id": connection_id},
            )
            return
        self._queues.put((url, connection_id), event)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}", "Content-Type": "application/json"}

    async def _deliver(self, key: tuple[str, str], events: list[dict[str, Any]]) -> None:
        if self.session is None:
            log.warning(
                "callbacks for %s dropped: the emulator is not running",
                key[1],
                extra={"call_connection_id": key[1]},
            )
            return
        url, connection_id = key
        bodies = one_per_post(events)
        if self.faults is not None:
            await self._clock.sleep(self.faults.delay_seconds())
            bodies = self.faults.deliveries(events)
        for body in bodies:
            await post_json(
                self.session,
                url,
                json.dumps(body).encode(),
                self._headers,
                policy=self._policy,
                clock=self._clock,
                what=f"callback for {connection_id}",
                # The attribute the bot's log formats name callConnectionId.
                log_extra={"call_connection_id": connection_id},
            )

    async def drain(self) -> None:
        """Wait until every callback submitted so far has been delivered or dropped."""
        await self._queues.drain()

    async def close(self) -> None:
        await self._queues.close()
