"""The dispatcher: one call's events in order, different calls side by side, failures isolated."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.dispatch import CallDispatcher
from bot.events import CallEvent, PlayCompleted

Process = Callable[[CallEvent], Awaitable[None]]


def ev(call: str, n: int) -> CallEvent:
    return PlayCompleted(id=f"{call}-{n}", call_connection_id=call, operation_context=str(n))


class Recorder:
    """A `process` that records what it saw, per call, optionally pausing or failing on cue."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = defaultdict(list)
        self.order: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.started: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.finished: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.fail_on: set[str] = set()
        self.jitter = False

    async def __call__(self, event: CallEvent) -> None:
        self.started[event.id].set()
        try:
            await self._process(event)
        finally:
            self.finished[event.id].set()

    async def _process(self, event: CallEvent) -> None:
        gate = self.gates.get(event.id)
        if gate is not None:
            await gate.wait()
        if self.jitter:
            # Yield a random number of times so workers of different calls interleave.
            for _ in range(random.randint(0, 3)):  # noqa: S311  # scheduling noise, not security
                await asyncio.sleep(0)
        if event.id in self.fail_on:
            raise RuntimeError(f"handler broke on {event.id}")
        self.seen[event.call_connection_id].append(event.id)
        self.order.append(event.id)


async def until(condition: Callable[[], bool], attempts: int = 1000) -> None:
    """Wait, a bounded number of 10 ms steps, for something that happens in the background."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never came true")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def dispatcher(recorder: Recorder) -> AsyncIterator[CallDispatcher]:
    running = CallDispatcher(recorder)
    yield running
    await running.close()


async def test_each_calls_events_run_in_submission_order_under_concurrency(
    recorder: Recorder, dispatcher: CallDispatcher
) -> None:
    recorder.jitter = True
    calls = [f"call-{c}" for c in range(5)]
    expected: dict[str, list[str]] = defaultdict(list)
    # Submitted in several batches that mix the calls, as separate callback posts would.
    for batch in range(10):
        events = [ev(call, batch * 10 + i) for i in range(3) for call in random.sample(calls, len(calls))]
        for event in events:
            expected[event.call_connection_id].append(event.id)
        dispatcher.submit(events)

    await dispatcher.drain()

    assert dict(recorder.seen) == dict(expected)
    assert dispatcher.processed == 150
    assert dispatcher.failed == 0


async def test_submit_does_not_wait_for_processing(recorder: Recorder, dispatcher: CallDispatcher) -> None:
    dispatcher.submit([ev("a", 1), ev("a", 2)])

    assert recorder.order == []
    assert dispatcher.queue_depth == 2
    await dispatcher.drain()
    assert recorder.order == ["a-1", "a-2"]
    assert dispatcher.queue_depth == 0


async def test_a_blocked_call_does_not_hold_up_another(
    recorder: Recorder, dispatcher: CallDispatcher
) -> None:
    recorder.gates["a-1"] = asyncio.Event()
    dispatcher.submit([ev("a", 1), ev("a", 2), ev("b", 1), ev("b", 2)])

    await recorder.started["a-1"].wait()
    # Call b runs to the end while call a's first event is still in progress.
    await recorder.finished["b-2"].wait()
    assert recorder.seen["b"] == ["b-1", "b-2"]
    assert recorder.seen["a"] == []
    assert dispatcher.queue_depth == 1

    recorder.gates["a-1"].set()
    await dispatcher.drain()
    assert recorder.seen["a"] == ["a-1", "a-2"]


async def test_two_calls_interleave(recorder: Recorder, dispatcher: CallDispatcher) -> None:
    # a-2 waits for b-1 and b-2 waits for a-2: this finishes only if the calls proceed side by side.
    recorder.gates["a-2"] = recorder.started["b-1"]
    recorder.gates["b-2"] = recorder.finished["a-2"]

    dispatcher.submit([ev("a", 1), ev("a", 2), ev("a", 3)])
    dispatcher.submit([ev("b", 1), ev("b", 2)])
    # Serialized calls would deadlock here; the bound turns that into a failure, not a hang.
    async with asyncio.timeout(30):
        await dispatcher.drain()

    assert recorder.seen["a"] == ["a-1", "a-2", "a-3"]
    assert recorder.seen["b"] == ["b-1", "b-2"]
    assert recorder.order.index("a-2") < recorder.order.index("b-2")


async def test_a_failing_event_is_logged_and_the_call_goes_on(
    recorder: Recorder, dispatcher: CallDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.fail_on.add("a-2")
    with caplog.at_level(logging.ERROR, logger="roombot.bot.dispatch"):
        dispatcher.submit([ev("a", 1), ev("a", 2), ev("a", 3), ev("b", 1)])
        await dispatcher.drain()

    assert recorder.seen["a"] == ["a-1", "a-3"]
    assert recorder.seen["b"] == ["b-1"]
    assert dispatcher.processed == 4
    assert dispatcher.failed == 1
    [failure] = caplog.records
    assert "PlayCompleted" in failure.getMessage()
    assert "call a" in failure.getMessage()
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "handler broke on a-2"


async def test_a_cancelled_error_from_inside_a_handler_counts_as_a_failure() -> None:
    seen: list[str] = []

    async def process(event: CallEvent) -> None:
        if event.id == "a-1":
            never = asyncio.get_running_loop().create_future()
            never.cancel()
            await never
        seen.append(event.id)

    own = CallDispatcher(process)
    try:
        own.submit([ev("a", 1), ev("a", 2)])
        await own.drain()
    finally:
        await own.close()

    assert seen == ["a-2"]
    assert own.failed == 1


async def test_drain_waits_for_events_submitted_while_processing() -> None:
    follow_ups: list[str] = []

    async def process(event: CallEvent) -> None:
        follow_ups.append(event.id)
        if event.id == "a-1":
            owner.submit([ev("a", 2), ev("b", 1)])

    owner = CallDispatcher(process)
    try:
        owner.submit([ev("a", 1)])
        await owner.drain()
    finally:
        await owner.close()

    assert sorted(follow_ups) == ["a-1", "a-2", "b-1"]
    assert follow_ups[0] == "a-1"
    assert owner.processed == 3


async def test_a_worker_leaves_when_its_queue_is_empty_and_the_next_event_brings_one_back(
    recorder: Recorder,
) -> None:
    # A call between events holds no task: at a thousand waiting calls, idle workers were
    # thousands of objects for the garbage collector to walk.
    short = CallDispatcher(recorder)
    try:
        short.submit([ev("a", 1), ev("b", 1)])
        await short.drain()
        await until(lambda: short.active_workers == 0)

        short.submit([ev("a", 2)])
        assert short.active_workers == 1
        await short.drain()
        await until(lambda: short.active_workers == 0)
    finally:
        await short.close()

    assert recorder.seen["a"] == ["a-1", "a-2"]
    assert short.stats().processed == 3


async def test_close_cancels_work_in_progress_and_refuses_more(recorder: Recorder) -> None:
    recorder.gates["a-1"] = asyncio.Event()
    closing = CallDispatcher(recorder)
    closing.submit([ev("a", 1), ev("a", 2)])
    await recorder.started["a-1"].wait()

    await closing.close()
    await closing.drain()

    assert recorder.order == []
    assert closing.active_workers == 0
    with pytest.raises(RuntimeError, match="closed"):
        closing.submit([ev("a", 3)])


async def test_close_ends_a_worker_whose_handler_swallowed_the_cancellation() -> None:
    # Code a handler awaits may catch the CancelledError meant for the worker (redis-py turning it
    # into a connection error, caught as a store error, does): close must still end the worker.
    started = asyncio.Event()

    async def swallowing(event: CallEvent) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            return

    closing = CallDispatcher(swallowing)
    closing.submit([ev("a", 1), ev("a", 2)])
    await started.wait()

    # Waited for, not cancelled, so that a close that never ends fails the test instead of hanging.
    closed, _ = await asyncio.wait([asyncio.create_task(closing.close())], timeout=5)

    assert closed, "close never ended: the worker still waits for events"
    assert closing.active_workers == 0


async def test_stats_report_the_counters(recorder: Recorder, dispatcher: CallDispatcher) -> None:
    recorder.fail_on.add("b-1")
    recorder.gates["a-1"] = asyncio.Event()
    dispatcher.submit([ev("a", 1), ev("a", 2), ev("a", 3), ev("b", 1)])
    await recorder.started["a-1"].wait()
    await recorder.finished["b-1"].wait()

    stats = dispatcher.stats()
    # b's worker left with its queue empty; a's is still on a-1, with two more behind it.
    assert (stats.processed, stats.failed, stats.queue_depth, stats.workers) == (1, 1, 2, 1)

    recorder.gates["a-1"].set()
    await dispatcher.drain()
    assert dispatcher.stats().queue_depth == 0
