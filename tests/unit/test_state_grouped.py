"""Group commit of the callback intake (`bot.state.grouped`): under a load of open callbacks,
requests that keep coming turn after turn go as one (each caller gets its own part of the
answer); a lone callback is not held back; a failure reaches every caller of the request."""

from __future__ import annotations

import asyncio

import pytest

from bot.state.grouped import MAX_GATHER_PASSES, Grouped


class Recorder:
    """A ``run`` that answers each item with its double and remembers every request."""

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[list[int]] = []
        self.fail = fail

    async def __call__(self, items: list[int]) -> list[int]:
        self.requests.append(items)
        if self.fail:
            raise ConnectionError("store down")
        return [item * 2 for item in items]


async def after_turns(grouped: Grouped[int, int], turns: int, items: list[int]) -> list[int]:
    for _ in range(turns):
        await asyncio.sleep(0)
    return await grouped(items)


async def test_under_a_load_requests_that_keep_coming_join_one_and_each_caller_gets_its_part() -> None:
    run = Recorder()
    grouped = Grouped(run)
    grouped.open_callbacks = lambda: 16

    answers = await asyncio.gather(*(after_turns(grouped, turn, [turn, 10 + turn]) for turn in range(4)))

    assert run.requests == [[0, 10, 1, 11, 2, 12, 3, 13]]
    assert answers == [[0, 20], [2, 22], [4, 24], [6, 26]]


async def test_a_lone_callback_is_not_held_back_what_one_turn_brought_goes_at_once() -> None:
    run = Recorder()
    grouped = Grouped(run)
    grouped.open_callbacks = lambda: 1

    await asyncio.gather(grouped([1]), grouped([2]), after_turns(grouped, 3, [3]))

    assert run.requests == [[1, 2], [3]]


async def test_under_a_load_the_wait_ends_when_turns_bring_nothing() -> None:
    run = Recorder()
    grouped = Grouped(run)
    grouped.open_callbacks = lambda: 16

    await asyncio.gather(grouped([1]), after_turns(grouped, 2 * MAX_GATHER_PASSES, [2]))

    assert run.requests == [[1], [2]]


async def test_a_failed_request_fails_every_caller_in_it() -> None:
    grouped = Grouped(Recorder(fail=True))

    results = await asyncio.gather(grouped([1]), grouped([2]), return_exceptions=True)

    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    with pytest.raises(ConnectionError):
        await grouped([3])
