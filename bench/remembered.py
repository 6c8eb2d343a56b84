"""Costs that must stay flat: ingestion with millions of remembered event ids against an empty
store, and the longest pause housekeeping makes while it expires them.

The bot remembers every callback event id for a day (ACS may deliver an event again), so a busy
bot's store holds millions. For each state store, one bot is started and its store made to
remember ``remembered`` random event ids (``mark_events_seen``, in batches, before anything is
measured: random like real ids, since ids written in order would flatter a B-tree); per run, a
bot on a fresh, empty store is started too, and both take in the same callbacks, measured as
``bench.callbacks`` measures them (server CPU per event and throughput, until drained). What the
runs add to the filled store is a few thousand ids against millions: its state does not change
with ``--runs``.

Then the filled bot housekeeps as it would a day later, every remembered id expired:
``HOUSEKEEPING_STEPS`` steps of ``StateStore.housekeep``, one after the other, as fast as the
store allows (the bot's own housekeeper pauses between them). Reported: the longest step, the
event loop's longest stall meanwhile (a 1 ms ticker in the bot's process), and the rows removed.
Redis expires its ids itself (each has its TTL), so its housekeeping has none to remove.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.callbacks import (
    CALLS,
    forget_prefix,
    ingest,
    reachable_stores,
    store_label,
    store_settings,
    traffic,
)
from bench.common import median, times
from bench.fake_acs import fake_acs
from bench.servers import target
from bench.traffic import Call
from bot.state.base import SEEN_EVENT_TTL_SECONDS

HOUSEKEEPING_STEPS = 200


@dataclass(frozen=True)
class StoreFigures:
    label: str
    empty_events_per_second: float
    full_events_per_second: float
    empty_cpu_us: float
    full_cpu_us: float
    housekeeping_removed: int
    longest_step_ms: float
    longest_stall_ms: float


@dataclass(frozen=True)
class RememberedResult:
    remembered: int
    posts: int
    events: int
    runs: int
    stores: list[StoreFigures]
    skipped: list[str]

    def lines(self) -> list[str]:
        lines = [
            f"remembered event ids: {self.remembered:,} random ids in the store against an empty one, "
            f"{self.posts} POSTs ({self.events} events), server in its own process, "
            f"median of {self.runs} run(s)",
            f"  {'':44} {'events/s':>9} {'events/s':>9} {'full vs':>8} "
            f"{'µs/event':>9} {'µs/event':>9} {'full vs':>8}",
            f"  {'':44} {'empty':>9} {'full':>9} {'empty':>8} {'empty':>9} {'full':>9} {'empty':>8}",
        ]
        for store in self.stores:
            lines.append(
                f"  {store.label:44} {store.empty_events_per_second:>9,.0f} "
                f"{store.full_events_per_second:>9,.0f} "
                f"{change(store.full_events_per_second, store.empty_events_per_second):>8} "
                f"{store.empty_cpu_us:>9,.1f} {store.full_cpu_us:>9,.1f} "
                f"{times(store.full_cpu_us, store.empty_cpu_us):>8}"
            )
        lines += [
            f"housekeeping with those {self.remembered:,} ids expired: "
            f"{HOUSEKEEPING_STEPS} steps back to back",
            f"  {'':44} {'longest step ms':>16} {'longest stall ms':>17} {'rows removed':>13}",
        ]
        for store in self.stores:
            lines.append(
                f"  {store.label:44} {store.longest_step_ms:>16,.1f} {store.longest_stall_ms:>17,.1f} "
                f"{store.housekeeping_removed:>13,}"
            )
        lines += [f"  {note}" for note in self.skipped]
        return lines


def change(new: float, old: float) -> str:
    """How far ``new`` is from ``old``, in percent: ``-8%``."""
    return f"{(new / old - 1) * 100:+.0f}%" if old > 0 else "n/a"


async def measure(
    *,
    remembered: int = 5_000_000,
    posts: int = 2000,
    runs: int = 3,
    concurrency: int = 16,
    stores: Sequence[str] = ("memory://", "sqlite", "redis"),
) -> RememberedResult:
    """Per store: median ingestion of an empty and of a filled store, and housekeeping's pauses."""
    if remembered < 1 or posts < 1 or runs < 1 or concurrency < 1:
        raise ValueError("remembered, posts, runs and concurrency must be at least 1")
    measured, skipped = await reachable_stores(stores)
    calls = [Call(index) for index in range(CALLS)]
    figures: list[StoreFigures] = []
    events = 0
    async with fake_acs() as acs, aiohttp.ClientSession() as session:
        with tempfile.TemporaryDirectory(prefix="roombot-bench-") as directory:
            for store in measured:
                full_fields, full_prefix = store_settings(store, Path(directory))
                full_config = acs.bot_settings(**full_fields)
                sides: dict[str, list[tuple[float, float]]] = {"empty": [], "full": []}
                try:
                    async with target("roombot", full_config, session) as full:
                        await full.remember(remembered)
                        for _ in range(runs):
                            warm_bodies, warm_tokens, _ = traffic(acs, calls, concurrency)
                            load_bodies, load_tokens, events = traffic(acs, calls, posts)
                            warm, load = (warm_bodies, warm_tokens), (load_bodies, load_tokens)
                            fields, prefix = store_settings(store, Path(directory))
                            config = acs.bot_settings(**fields)
                            try:
                                async with target("roombot", config, session) as empty:
                                    sides["empty"].append(await ingest(empty, calls, warm, load, concurrency))
                            finally:
                                if prefix is not None:
                                    await forget_prefix(config["state_url"], prefix)
                            sides["full"].append(await ingest(full, calls, warm, load, concurrency))
                        swept = await full.housekeep(HOUSEKEEPING_STEPS, SEEN_EVENT_TTL_SECONDS + 60)
                finally:
                    if full_prefix is not None:
                        await forget_prefix(full_config["state_url"], full_prefix)
                rates = {side: events / median(wall for wall, _ in got) for side, got in sides.items()}
                cpus = {side: median(cpu for _, cpu in got) * 1e6 / events for side, got in sides.items()}
                figures.append(
                    StoreFigures(
                        label=store_label(store),
                        empty_events_per_second=rates["empty"],
                        full_events_per_second=rates["full"],
                        empty_cpu_us=cpus["empty"],
                        full_cpu_us=cpus["full"],
                        housekeeping_removed=int(swept["removed"]),
                        longest_step_ms=swept["longestStepMs"],
                        longest_stall_ms=swept["longestLoopLagMs"],
                    )
                )
    return RememberedResult(remembered, posts, events, runs, figures, skipped)
