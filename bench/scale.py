"""Costs that must stay flat as calls accumulate: memory per live call, and the operator's views.

The bot runs alone in its process (``bench.target``), wired to the fake ACS of this process. Its
live calls are made through its registry (``CallRegistry.register_connecting``, then a
``CallConnected`` and a ``ParticipantsUpdated`` with four participants applied), as connecting to
that many rooms would leave them, without simulating the calls themselves: the emulator would
spend the machine's two cores on 10,000 calls' media and timers. RSS per live call is the growth
of the process's resident set from before the first call (after one warm-up call), divided by the
calls made. ``GET /ops/calls?limit=100`` (one page, the default size) and ``GET /metrics`` are timed
from this process, wall clock including the loopback round trip: the median of ``REPEATS`` after one
unmeasured request (the console's room roles, fetched once per room, are then cached).

Connects: a bot of its own joins ``connects`` rooms one after the other, in batches of
``CONNECT_BATCH``, through its own connect path (``CallCommands.connect``: the room's lock and
lease, the look for a live call of the room, the connect request to the fake ACS, the
registration), each followed by its ``CallConnected``. Timed on the bot's clock per batch: if
connecting scales linearly, the last batch costs what the first did (a quadratic one, as
``memory://`` once was, costs five times as much at the fifth).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bench.common import BenchError, median, times
from bench.fake_acs import OPS_KEY, fake_acs
from bench.servers import Target, target

REPEATS = 5
PAGE = "/ops/calls?limit=100"
CONNECT_BATCH = 1000


@dataclass(frozen=True)
class ScalePoint:
    calls: int
    rss_kib_per_call: float
    page_ms: float
    metrics_ms: float


@dataclass(frozen=True)
class ScaleResult:
    store: str
    points: list[ScalePoint]
    # Rooms joined, the batch size, and the milliseconds per connect of each batch, in order.
    connects: int
    connect_batch: int
    connect_ms: list[float]

    def lines(self) -> list[str]:
        lines = [
            f"scale: live calls in one bot process (state {self.store}), made through its registry",
            f"  {'':26} {'RSS KiB/call':>13} {'GET /ops/calls page ms':>23} {'GET /metrics ms':>16}",
        ]
        for point in self.points:
            lines.append(
                f"  {f'{point.calls:,} live calls':26} {point.rss_kib_per_call:>13.1f} "
                f"{point.page_ms:>23.1f} {point.metrics_ms:>16.1f}"
            )
        if self.connect_ms:
            batches = " ".join(f"{ms:.2f}" for ms in self.connect_ms)
            lines.append(
                f"  {f'{self.connects:,} connects':26} ms/connect by {self.connect_batch:,}: {batches}; "
                f"last/first {times(self.connect_ms[-1], self.connect_ms[0])}"
            )
        return lines


async def _timed(server: Target, path: str) -> float:
    """Median milliseconds of ``GET path`` after one unmeasured request."""
    headers = {"Authorization": f"Bearer {OPS_KEY}"}
    samples = []
    for attempt in range(REPEATS + 1):
        started = time.perf_counter()
        async with server.session.get(server.url + path, headers=headers) as reply:
            await reply.read()
            if reply.status != 200:
                raise BenchError(f"GET {path} answered {reply.status}")
        if attempt:
            samples.append((time.perf_counter() - started) * 1000)
    return median(samples)


async def connect_times(store: str, connects: int, batch: int) -> list[float]:
    """Milliseconds per connect of each batch of ``batch`` of ``connects`` (see the module's text)."""
    async with (
        fake_acs() as acs,
        aiohttp.ClientSession() as session,
        target("roombot", acs.bot_settings(state_url=store), session) as bot,
    ):
        # A first connect (index -1 is no room of a batch) loads what connecting loads once.
        await bot.connect(-1, 1)
        times_ms = []
        for first in range(0, connects, batch):
            size = min(batch, connects - first)
            times_ms.append(await bot.connect(first, size) * 1000 / size)
        return times_ms


async def measure(
    *,
    counts: Sequence[int] = (1000, 10000),
    store: str = "memory://",
    connects: int = 5000,
    connect_batch: int = CONNECT_BATCH,
    connect_store: str | None = None,
) -> ScaleResult:
    """RSS per call and view times at each count of live calls, and connect times by batch
    (``sqlite``: temporary files; ``connect_store``: the connecting bot's store, else ``store``)."""
    if any(count < 2 for count in counts) or connects < 0 or connect_batch < 1:
        raise ValueError("counts must be at least 2, connects at least 0 and connect_batch at least 1")
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="roombot-bench-") as directory:
            result = await measure(
                counts=counts,
                store=f"sqlite:///{directory}/scale.db",
                connects=connects,
                connect_batch=connect_batch,
                connect_store=f"sqlite:///{directory}/connects.db",
            )
        return ScaleResult("sqlite", result.points, connects, connect_batch, result.connect_ms)
    connect_ms = await connect_times(connect_store or store, connects, connect_batch) if connects else []
    points = []
    async with (
        fake_acs() as acs,
        aiohttp.ClientSession() as session,
        target("roombot", acs.bot_settings(state_url=store), session) as bot,
    ):
        # One call first, so that what the first call loads once is not counted per call.
        await bot.populate(0, 1)
        await _timed(bot, PAGE)
        await _timed(bot, "/metrics")
        base = (await bot.usage()).rss
        made = 1
        for count in sorted(counts):
            await bot.populate(made, count - made)
            made = count
            rss = (await bot.usage()).rss
            points.append(
                ScalePoint(
                    calls=count,
                    rss_kib_per_call=(rss - base) / 1024 / max(count - 1, 1),
                    page_ms=await _timed(bot, PAGE),
                    metrics_ms=await _timed(bot, "/metrics"),
                )
            )
    return ScaleResult(store, points, connects, connect_batch, connect_ms)
