"""Callback ingestion: server CPU per event and throughput of ``POST /api/callbacks``.

Every server under test runs alone in a child process (``bench.target``); this process is the
load generator, an aiohttp client with ``concurrency`` POSTs in flight over loopback. Each server's
CPU time (``time.process_time()`` of its process: every thread, user and system, read before and
after the POSTs) divided by the events it took in is the figure to read; throughput is beside it.
On two cores the client competes with the server for CPU, so throughput understates every side
alike; CPU per event does not depend on it.

Measured in the same run, interleaved (each run starts every server afresh, in the same order):

- ``bare``: ``json.loads`` of the body and nothing else;
- ``bare + JWT``: the same after verifying the callback's RS256 token as every receiver of ACS
  callbacks must: the floor of this work;
- ``roombot`` with each state store: JWT verification, parsing into typed events, durable intake
  (the events stored atomically with the duplicate check before the answer) and processing by the
  handlers; its clock and CPU reading stop when the bot has drained what it took in.

Every POST carries its own token, minted in advance by the signer the emulator uses (RS256, the
real service's issuer, a fresh ``jti``): a server cannot profit from seeing a token twice, which
ACS never does. Within a run every server gets the same bodies. State is fixed per run: each
server process starts with an empty store (a new SQLite file, a new Redis key prefix, removed
after), so ``--runs`` repeats the same measurement instead of growing the store.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from bench.common import BenchError, median, paired_times
from bench.fake_acs import FakeAcs, fake_acs
from bench.servers import Target, target
from bench.traffic import Call, bodies

PATH = "/api/callbacks"
CALLS = 8
REDIS_URL = os.environ.get("ROOMBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
BARE = "bare aiohttp handler (json.loads only)"
FLOOR = "bare handler + JWT verification (floor)"


@dataclass(frozen=True)
class Side:
    label: str
    events_per_second: float
    cpu_us_per_event: float
    # Each run's CPU µs/event, in the order of the runs.
    cpu_runs: tuple[float, ...]


@dataclass(frozen=True)
class CallbackResult:
    posts: int
    events: int
    concurrency: int
    runs: int
    sides: list[Side]
    skipped: list[str]

    def side(self, label: str) -> Side:
        return next(side for side in self.sides if side.label == label)

    def lines(self) -> list[str]:
        bare, floor = self.side(BARE), self.side(FLOOR)
        lines = [
            f"callback ingestion: {self.posts} POSTs ({self.events} events, "
            f"{self.events / self.posts:.1f} per POST), {self.concurrency} in flight, server in its own "
            f"process, median of {self.runs} run(s)",
            f"  {'':48} {'events/s':>9} {'server CPU':>11} {'CPU vs':>7} {'CPU vs':>7}",
            f"  {'':48} {'':>9} {'µs/event':>11} {'bare':>7} {'floor':>7}",
        ]
        for side in self.sides:
            lines.append(
                f"  {side.label:48} {side.events_per_second:>9,.0f} {side.cpu_us_per_event:>11,.1f} "
                f"{paired_times(side.cpu_runs, bare.cpu_runs):>7} "
                f"{paired_times(side.cpu_runs, floor.cpu_runs):>7}"
            )
        lines += [f"  {note}" for note in self.skipped]
        return lines


async def _post_all(
    session: aiohttp.ClientSession, url: str, posts: Sequence[bytes], tokens: Sequence[str], concurrency: int
) -> None:
    async def worker(offset: int) -> None:
        for index in range(offset, len(posts), concurrency):
            headers = {"Authorization": f"Bearer {tokens[index]}", "Content-Type": "application/json"}
            async with session.post(url, data=posts[index], headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise BenchError(f"POST {url} answered {response.status}")

    await asyncio.gather(*(worker(offset) for offset in range(concurrency)))


async def redis_reachable(url: str) -> str | None:
    """None when Redis answers at ``url``; otherwise why not."""
    client = aioredis.Redis.from_url(url)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as exc:
        return f"{exc}"
    finally:
        await client.aclose()
    return None


async def reachable_stores(stores: Sequence[str]) -> tuple[list[str], list[str]]:
    """The stores that can be measured, and a note for each that cannot (no Redis there)."""
    measured, skipped = [], []
    for store in stores:
        url = REDIS_URL if store == "redis" else store
        why = await redis_reachable(url) if url.startswith("redis") else None
        if why is None:
            measured.append(store)
        else:
            skipped.append(f"{store_label(store)}: skipped, no Redis at {url} ({why})")
    return measured, skipped


async def forget_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (a benchmark's Redis state)."""
    client = aioredis.Redis.from_url(url)
    try:
        found = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        for start in range(0, len(found), 1000):
            await client.delete(*found[start : start + 1000])
    finally:
        await client.aclose()


def store_label(store: str) -> str:
    if store == "sqlite":
        return "roombot, SQLite file (the default store)"
    if store.startswith("redis"):
        return "roombot, Redis on loopback"
    return f"roombot, {store}"


def store_settings(store: str, directory: Path) -> tuple[dict[str, Any], str | None]:
    """The Settings fields of a fresh store, and the Redis key prefix to remove after (if any)."""
    if store == "sqlite":
        return {"state_url": f"sqlite:///{directory / f'bench-{uuid.uuid4().hex}.db'}"}, None
    if store == "redis":
        store = REDIS_URL
    if store.startswith("redis"):
        prefix = f"roombot-bench:{uuid.uuid4().hex}:"
        return {"state_url": store, "redis_prefix": prefix}, prefix
    return {"state_url": store}, None


async def ingest(
    server: Target,
    calls: Sequence[Call],
    warm: tuple[list[bytes], list[str]],
    load: tuple[list[bytes], list[str]],
    concurrency: int,
) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) to take in ``load`` after warming up with ``warm``."""
    if server.kind == "roombot":
        await server.register([call.registration() for call in calls])
    # Warm-up: the server loads the signing keys, the client opens its connections.
    await _post_all(server.session, server.url + PATH, *warm, concurrency)
    await server.drain()
    before = await server.usage()
    started = time.perf_counter()
    await _post_all(server.session, server.url + PATH, *load, concurrency)
    await server.drain()
    seconds = time.perf_counter() - started
    after = await server.usage()
    return seconds, after.cpu - before.cpu


def traffic(acs: FakeAcs, calls: Sequence[Call], posts: int) -> tuple[list[bytes], list[str], int]:
    made, events = bodies(calls, posts)
    return made, [acs.token() for _ in made], events


async def measure(
    *,
    posts: int = 2000,
    runs: int = 5,
    concurrency: int = 16,
    stores: Sequence[str] = ("memory://", "sqlite", "redis"),
) -> CallbackResult:
    """Median events/s and server CPU µs/event of the baselines and of the bot on each store
    (``sqlite``: a file in a temporary directory; ``redis``: ``ROOMBOT_BENCH_REDIS_URL``)."""
    if posts < 1 or runs < 1 or concurrency < 1:
        raise ValueError("posts, runs and concurrency must be at least 1")
    measured, skipped = await reachable_stores(stores)
    labels = [BARE, FLOOR, *(store_label(store) for store in measured)]
    walls: dict[str, list[float]] = {label: [] for label in labels}
    cpus: dict[str, list[float]] = {label: [] for label in labels}
    calls = [Call(index) for index in range(CALLS)]
    events = 0
    async with fake_acs() as acs, aiohttp.ClientSession() as session:
        with tempfile.TemporaryDirectory(prefix="roombot-bench-") as directory:
            for run in range(runs):
                warm_bodies, warm_tokens, _ = traffic(acs, calls, concurrency)
                load_bodies, load_tokens, events = traffic(acs, calls, posts)
                plan: list[tuple[str, str, dict[str, Any], str | None]] = [
                    (BARE, "bare", acs.bot_settings(), None),
                    (FLOOR, "bare-jwt", acs.bot_settings(), None),
                ]
                for store in measured:
                    fields, prefix = store_settings(store, Path(directory))
                    plan.append((store_label(store), "roombot", acs.bot_settings(**fields), prefix))
                # Each run starts with another server, so that none always goes first (or last).
                plan = plan[run % len(plan) :] + plan[: run % len(plan)]
                for label, kind, config, prefix in plan:
                    try:
                        async with target(kind, config, session) as server:
                            wall, cpu = await ingest(
                                server,
                                calls,
                                (warm_bodies, warm_tokens),
                                (load_bodies, load_tokens),
                                concurrency,
                            )
                    finally:
                        if prefix is not None:
                            await forget_prefix(config["state_url"], prefix)
                    walls[label].append(wall)
                    cpus[label].append(cpu)
    sides = [
        Side(
            label,
            events / median(walls[label]),
            median(cpus[label]) * 1e6 / events,
            tuple(cpu * 1e6 / events for cpu in cpus[label]),
        )
        for label in labels
    ]
    return CallbackResult(posts, events, concurrency, runs, sides, skipped)
