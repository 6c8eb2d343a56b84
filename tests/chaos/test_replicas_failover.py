"""Three replicas on one Redis behind a round-robin balancer; the leading one is killed mid-run.

Callbacks and backend requests land on any replica (nothing sticky). Concurrent connects for a room
over different replicas make one bot connection. While interpreter dial-outs with DTMF
confirmation and announcements run, the replica that leads is killed with SIGKILL: another takes
over within the lease bound and resumes everything, so every dial-out ends confirmed with one
invitation, and no announcement plays twice.

Counts: ``CHAOS_REPLICA_DIALOUTS`` (default 16); 120 for the full figure by hand.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.chaos.scenario import announce, check_outcomes, connected_rooms, trigger_dialouts
from tests.support.processes import BotProcess, ProcessBed, process_bed
from tests.support.proxy import round_robin

REDIS_URL = os.environ.get("ROOMBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DIALOUTS = int(os.environ.get("CHAOS_REPLICA_DIALOUTS", "16"))
REPLICAS = 3
LEASE_SECONDS = 3.0

pytestmark = pytest.mark.redis


async def leader(bed: ProcessBed, replicas: list[BotProcess]) -> BotProcess | None:
    for replica in replicas:
        if replica.running is None:
            continue
        try:
            async with bed.http.get(replica.url + "/healthz") as reply:
                if (await reply.json()).get("leading"):
                    return replica
        except OSError:
            continue
    return None


async def wait_for_leader(bed: ProcessBed, replicas: list[BotProcess], within: float = 30.0) -> BotProcess:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await leader(bed, replicas)
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no replica leads")


async def test_killing_the_leader_of_three_replicas_loses_and_doubles_nothing(tmp_path: Path) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, aioredis.ConnectionError) as exc:
        print(f"skipping: no Redis answers at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis answers at {REDIS_URL}: {exc}")
    prefix = f"roombot-chaos:{uuid.uuid4().hex}:"
    try:
        async with process_bed(tmp_path) as bed:
            settings = {"ROOMBOT_REDIS_PREFIX": prefix, "ROOMBOT_LEASE_SECONDS": str(LEASE_SECONDS)}
            replicas = [bed.bot(state_url=REDIS_URL, extra=settings) for _ in range(REPLICAS)]
            async with round_robin([replica.url for replica in replicas]) as balancer:
                for replica in replicas:
                    replica.env["ROOMBOT_CALLBACK_BASE_URL"] = balancer.url
                await asyncio.gather(*(replica.start() for replica in replicas))
                await wait_for_leader(bed, replicas)
                rooms = await connected_rooms(bed, balancer, connects=4)
                for room_id in rooms:
                    call = await bed.emulator("GET", f"/emulator/rooms/{room_id}/call")
                    assert len(call["connections"]) == 1

                async def kill_the_leader() -> float:
                    await asyncio.sleep(2.0)
                    first = await wait_for_leader(bed, replicas)
                    await first.kill()
                    killed = time.monotonic()
                    await wait_for_leader(bed, replicas)
                    return time.monotonic() - killed

                dialouts, announcements, takeover = await asyncio.gather(
                    trigger_dialouts(bed, balancer, rooms, DIALOUTS),
                    announce(bed, balancer, rooms),
                    kill_the_leader(),
                )
                print(f"takeover after the leader was killed: {takeover:.2f} s (lease {LEASE_SECONDS} s)")
                # The lease runs out, and the next bid comes within a third of it (plus what a
                # loaded machine adds to seeing the new leader through /healthz).
                assert takeover <= LEASE_SECONDS * (1 + 1 / 3) + 2.0
                await check_outcomes(bed, balancer, rooms, dialouts, announcements)
                served = [balancer.served.get(replica.url, 0) for replica in replicas]
                assert all(count > 0 for count in served), served
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
