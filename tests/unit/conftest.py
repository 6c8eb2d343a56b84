"""State-store fixtures: the same contract tests run against memory, SQLite and Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.state import MemoryStateStore, RedisStateStore, SqliteStateStore, StateStore, StateStoreError

REDIS_URL = os.environ.get("ROOMBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

StoreFactory = Callable[..., Awaitable[StateStore]]

STORE_KINDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]


async def _flush_prefix(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=STORE_KINDS)
async def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Opens stores of one backend with any constructor options; closes and cleans them after."""
    kind: str = request.param
    opened: list[StateStore] = []
    # Random per test: tests sharing the Redis database never see each other's keys.
    prefix = f"roombot-test:{uuid.uuid4().hex}:"

    async def open_one(**options: Any) -> StateStore:
        store: StateStore
        if kind == "memory":
            store = MemoryStateStore(**options)
        elif kind == "sqlite":
            store = await SqliteStateStore.open(tmp_path / "state.db", **options)
        else:
            try:
                store = await RedisStateStore.connect(REDIS_URL, prefix=prefix, **options)
            except StateStoreError as exc:
                print(f"skipping: no Redis answers at {REDIS_URL}: {exc}")
                pytest.skip(f"no Redis answers at {REDIS_URL} (set ROOMBOT_TEST_REDIS_URL): {exc}")
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()
    if kind == "redis" and opened:
        await _flush_prefix(prefix)


@pytest.fixture
async def store(store_factory: StoreFactory) -> StateStore:
    return await store_factory()
