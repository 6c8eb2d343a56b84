"""A Redis command cut short by a cancellation is a cancellation, not a store failure.

redis-py may report a command interrupted by a cancellation as a connection error. Loops that
retry on a store error (the inbox poll, housekeeping, lease renewal, handlers) would then go on
after being asked to stop, and the bot's shutdown would wait for them forever. It may also
return the reply of a command whose task was cancelled while waiting for it: that too must end
the task."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.state.base import StateStoreError
from bot.state.redis.errors import translated


@translated
async def command_cut_short() -> None:
    """A command that, cancelled, raises what redis-py raises for a lost connection."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        raise RedisConnectionError("Connection closed by server.") from None


@translated
async def command_that_answers_anyway() -> str:
    """A command that, cancelled while it waits for its reply, returns the reply."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(60)
    return "reply"


@translated
async def command_on_a_lost_connection() -> None:
    raise RedisConnectionError("Connection closed by server.")


async def test_a_cancelled_command_raises_cancelled_error() -> None:
    running = asyncio.create_task(command_cut_short())
    await asyncio.sleep(0.01)
    running.cancel()

    with pytest.raises(asyncio.CancelledError):
        await running


async def test_a_command_that_answers_after_its_cancellation_still_ends_the_loop_that_called_it() -> None:
    answered: list[str] = []

    async def poll() -> None:
        # The shape of the inbox poll: it carries on until cancelled.
        while True:
            answered.append(await command_that_answers_anyway())

    running = asyncio.create_task(poll())
    await asyncio.sleep(0.01)
    running.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, 5)
    assert answered == []


async def test_a_command_not_cancelled_returns_its_reply() -> None:
    async def quick() -> str:
        return "reply"

    assert await translated(quick)() == "reply"


async def test_a_lost_connection_is_a_store_error() -> None:
    with pytest.raises(StateStoreError, match="Connection closed by server"):
        await command_on_a_lost_connection()
