"""How the Redis store reports what redis-py raises: failures as the store's own error, and a
cancellation that arrived mid-command always as a cancellation."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.exceptions import RedisError

from bot.state.base import StateStoreError

P = ParamSpec("P")
R = TypeVar("R")


def translated(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Redis failures (connection lost, pool exhausted, timeouts) as the store's own error, and
    a cancellation that arrived mid-command always as a cancellation."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        task = asyncio.current_task()
        requested = task.cancelling() if task is not None else 0
        try:
            result = await method(*args, **kwargs)
        except (RedisError, OSError) as exc:
            if task is not None and task.cancelling():
                # The task was asked to stop mid-command, and redis-py (its pool's and socket's
                # timeouts on Python 3.11) reported that as a connection error: a StateStoreError
                # here would be caught and retried by loops that should end.
                raise asyncio.CancelledError from exc
            raise StateStoreError(f"Redis state store failed: {exc}") from exc
        if task is not None and task.cancelling() > requested:
            # Cancelled while it waited for the reply, yet the command returned the reply (seen
            # with redis-py 8.1 and hiredis, under a busy pool): the loop that called it would go
            # on as if never asked to stop, and its owner would wait for it forever.
            raise asyncio.CancelledError
        return result

    return wrapper
