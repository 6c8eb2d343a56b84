"""A Redis command cut short by a cancellation is a cancellation, not a store failure.

redis-py may report a command interrupted by a cancellation as a connection error. Loops that
retry on a store error (the inbox poll, housekeeping, lease renewal, handlers) would then go on
after being asked to stop, and the bot's shutdown would wait for them forever."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.state.base import StateStoreError
from bot.state.redis import _translated


@_translated
async def command_cut_short() -> None:
    """A command that, cancelled, raises what redis-py raises for a lost connection."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        raise RedisConnectionError("Connection closed by server.") from None


@_translated
async def command_on_a_lost_connection() -> None:
    raise RedisConnectionError("Connection closed by server.")


async def test_a_cancelled_command_raises_cancelled_error() -> None:
    running = asyncio.create_task(command_cut_short())
    await asyncio.sleep(0.01)
    running.cancel()

    with pytest.raises(asyncio.CancelledError):
        await running


async def test_a_lost_connection_is_a_store_error() -> None:
    with pytest.raises(StateStoreError, match="Connection closed by server"):
        await command_on_a_lost_connection()
