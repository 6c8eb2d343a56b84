"""Two replicas of the bot on one Redis: a room call gets one bot connection, whoever is asked."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.testing import BACKEND_KEY, RoomBot, bot_settings, serve_bot
from bot.testing.serving import RunningBot

REDIS_URL = os.environ.get("ROOMBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOMS = 10
CONNECTS_PER_ROOM = 4

pytestmark = pytest.mark.redis


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[RoomBot, RunningBot]]:
    """A harness (emulator + first replica) and a second replica, on one Redis key prefix."""
    prefix = f"roombot-test:{uuid.uuid4().hex}:"
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, aioredis.ConnectionError) as exc:
        print(f"skipping: no Redis answers at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis answers at {REDIS_URL}: {exc}")
    try:
        async with RoomBot.start(state_url=REDIS_URL, redis_prefix=prefix) as first:
            second = await serve_bot(
                lambda url: bot_settings(first.emulator, url, state_url=REDIS_URL, redis_prefix=prefix)
            )
            try:
                yield first, second
            finally:
                await second.close()
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_concurrent_connects_over_two_replicas_make_one_connection_per_room(
    replicas: tuple[RoomBot, RunningBot],
) -> None:
    harness, second = replicas
    rooms = []
    for _ in range(ROOMS):
        room = await harness.create_room(["Presenter"])
        await harness.join(room.id, room.members[0])
        rooms.append(room.id)

    async def connect(room_id: str, replica: int) -> tuple[int, str]:
        base = harness.url if replica % 2 == 0 else second.url
        reply = await harness.request("POST", f"/api/rooms/{room_id}/connect", key=BACKEND_KEY, base=base)
        assert reply.status in (200, 202), reply.text
        return reply.status, str(reply.body["callConnectionId"])

    answers = await asyncio.gather(
        *(connect(room_id, n) for room_id in rooms for n in range(CONNECTS_PER_ROOM))
    )
    for index, room_id in enumerate(rooms):
        mine = answers[index * CONNECTS_PER_ROOM : (index + 1) * CONNECTS_PER_ROOM]
        # Every trigger names the same connection; exactly one of them made it.
        assert len({call_id for _, call_id in mine}) == 1
        assert sorted(status for status, _ in mine) == [200, 200, 200, 202]
        call = await harness.emulator_call(room_id)
        assert call is not None
        assert len(call["connections"]) == 1
