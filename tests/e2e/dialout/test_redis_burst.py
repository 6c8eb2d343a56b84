"""A burst of dial-out triggers on Redis: more requests at once than the Redis pool has
connections. They wait for a connection (bounded) instead of failing with 500, and each
trigger makes its own dial-out."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.testing import BACKEND_KEY, RoomBot

REDIS_URL = os.environ.get("ROOMBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TRIGGERS = 200
POOL_SIZE = 8

pytestmark = pytest.mark.redis


@pytest.fixture
async def roombot() -> AsyncIterator[RoomBot]:
    prefix = f"roombot-test:{uuid.uuid4().hex}:"
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, aioredis.ConnectionError) as exc:
        print(f"skipping: no Redis answers at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis answers at {REDIS_URL}: {exc}")
    try:
        async with RoomBot.start(
            state_url=REDIS_URL,
            redis_prefix=prefix,
            redis_pool_size=POOL_SIZE,
            pstn_caller_id="+14255550100",
        ) as bot:
            yield bot
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_concurrent_dialout_triggers_beyond_the_pool_get_no_5xx(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"], pstn_dial_out_enabled=True)
    await roombot.join(room.id, room.members[0])
    await roombot.connect(room.id)

    async def trigger(index: int) -> tuple[int, str]:
        reply = await roombot.request(
            "POST",
            f"/api/rooms/{room.id}/dialouts",
            key=BACKEND_KEY,
            json={"phoneNumber": f"+1425556{index:04d}"},
            headers={"Idempotency-Key": f"burst-{index}"},
        )
        return reply.status, str(reply.body.get("id")) if isinstance(reply.body, dict) else ""

    answers = await asyncio.gather(*(trigger(index) for index in range(TRIGGERS)))

    assert Counter(status for status, _ in answers) == {202: TRIGGERS}, answers
    assert len({dialout_id for _, dialout_id in answers}) == TRIGGERS
