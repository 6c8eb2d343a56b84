"""Takeover after a replica is killed: two bot replicas on one Redis, the leader killed with
SIGKILL, and the time until the other leads and has processed a callback.

Both replicas run as processes of their own (``bench.target``), each with its own URL as replica
URL, on one Redis under a key prefix of their own (removed after), with the lease setting
measured (``lease_seconds``, ``ROOMBOT_LEASE_SECONDS``). A call is registered as live through
the first, the leader. The leader is then killed; at once a ``ParticipantsUpdated`` for that call,
naming a new participant, is POSTed to the survivor, which stores it but does not process it until
it leads. Two times are measured from the kill: until the survivor's ``/healthz`` says
``"leading": true``, and until ``GET /ops/calls/{id}`` on it lists the new participant (the callback
taken in during the outage processed). Polls run every ``POLL_SECONDS``. ACS is the fake of
``bench.fake_acs``: a takeover asks nothing of a simulated call.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bench.callbacks import REDIS_URL, forget_prefix, redis_reachable
from bench.common import STARTUP_TIMEOUT, BenchError, median
from bench.fake_acs import OPS_KEY, FakeAcs, fake_acs
from bench.servers import Target, target
from bench.traffic import Call

POLL_SECONDS = 0.01


@dataclass(frozen=True)
class Takeover:
    lease_seconds: float
    leading_s: float
    processed_s: float


@dataclass(frozen=True)
class TakeoverResult:
    runs: int
    takeovers: list[Takeover]
    skipped: str | None = None

    def lines(self) -> list[str]:
        lines = [
            "takeover: two replicas on one Redis, the leader killed with SIGKILL; seconds from the kill, "
            f"median of {self.runs} run(s)",
        ]
        if self.skipped is not None:
            return [*lines, f"  skipped: {self.skipped}"]
        lines.append(f"  {'':26} {'survivor leads s':>17} {'callback processed s':>21}")
        for one in self.takeovers:
            lines.append(
                f"  {f'lease {one.lease_seconds:g} s':26} {one.leading_s:>17.2f} {one.processed_s:>21.2f}"
            )
        return lines


async def _lists(survivor: Target, call: Call, raw_id: str) -> bool:
    headers = {"Authorization": f"Bearer {OPS_KEY}"}
    async with survivor.session.get(f"{survivor.url}/ops/calls/{call.id}", headers=headers) as reply:
        if reply.status != 200:
            return False
        found = await reply.json()
    return raw_id in {participant.get("rawId") for participant in found.get("participants", [])}


async def _once(acs: FakeAcs, session: aiohttp.ClientSession, lease: float) -> tuple[float, float]:
    prefix = f"roombot-bench:{uuid.uuid4().hex}:"
    config = acs.bot_settings(state_url=REDIS_URL, redis_prefix=prefix, lease_seconds=lease)
    call = Call(0)
    try:
        async with (
            target("roombot", config, session) as leader,
            target("roombot", config, session, lead=False) as survivor,
        ):
            await leader.register([call.registration()])
            if await survivor.leading():
                raise BenchError("the second replica leads although the first does")
            call.participants.append(f"8:acs:bench_{uuid.uuid4()}")
            body = json.dumps([call.participants_updated()])
            headers = {"Authorization": f"Bearer {acs.token()}", "Content-Type": "application/json"}
            await leader.kill()
            killed = time.perf_counter()
            async with session.post(survivor.url + "/api/callbacks", data=body, headers=headers) as reply:
                if reply.status != 200:
                    raise BenchError(f"the survivor answered the callback {reply.status}")
            leading = processed = None
            async with asyncio.timeout(STARTUP_TIMEOUT):
                while processed is None:
                    if leading is None and await survivor.leading():
                        leading = time.perf_counter() - killed
                    if leading is not None and await _lists(survivor, call, call.participants[-1]):
                        processed = time.perf_counter() - killed
                    await asyncio.sleep(POLL_SECONDS)
            return leading or 0.0, processed
    finally:
        await forget_prefix(REDIS_URL, prefix)


async def measure(*, leases: Sequence[float] = (3.0, 10.0), runs: int = 3) -> TakeoverResult:
    """Median takeover times for each lease setting (10 s is the default)."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    why = await redis_reachable(REDIS_URL)
    if why is not None:
        return TakeoverResult(runs, [], skipped=f"no Redis at {REDIS_URL} ({why})")
    takeovers = []
    async with fake_acs() as acs, aiohttp.ClientSession() as session:
        for lease in leases:
            measured = [await _once(acs, session, lease) for _ in range(runs)]
            takeovers.append(Takeover(lease, median(m[0] for m in measured), median(m[1] for m in measured)))
    return TakeoverResult(runs, takeovers)
