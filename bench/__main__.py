"""``python -m bench``: every benchmark, printed with the machine it ran on.

Each server measured runs alone in a child process; this process generates the load over
loopback. Both sides of every ratio run on the same machine, in the same run, interleaved, each
server started afresh per run (fixed state: ``--runs`` repeats, it does not grow the store).
``--quick`` is a smoke run (tiny counts, one run): it proves the benchmarks work, its figures
mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bench import callbacks, facade, latency, remembered, scale, takeover
from bench.common import machine
from bot.logs import configure_logging


@dataclass(frozen=True)
class Plan:
    posts: int
    concurrency: int
    actions: int
    runs: int
    menu_calls: tuple[int, ...]
    latency_runs: int
    live_calls: tuple[int, ...]
    connects: int
    connect_batch: int
    scale_stores: tuple[str, ...]
    leases: tuple[float, ...]
    takeover_runs: int
    remembered: int


FULL = Plan(
    posts=2000,
    concurrency=16,
    actions=300,
    runs=5,
    menu_calls=(100, 1000),
    latency_runs=3,
    live_calls=(1000, 10000),
    connects=5000,
    connect_batch=1000,
    scale_stores=("memory://", "sqlite"),
    leases=(3.0, 10.0),
    takeover_runs=3,
    remembered=5_000_000,
)
QUICK = Plan(
    posts=20,
    concurrency=4,
    actions=5,
    runs=1,
    menu_calls=(5,),
    latency_runs=1,
    live_calls=(20, 50),
    connects=40,
    connect_batch=20,
    scale_stores=("memory://",),
    leases=(1.0,),
    takeover_runs=1,
    remembered=2_000,
)
BENCHMARKS = ("callbacks", "facade", "latency", "scale", "takeover", "remembered")
DEFAULT_STORES = ("memory://", "sqlite", "redis")

# What the figures of each benchmark mean, printed after those that ran.
LEGEND = {
    "callbacks": [
        "  server CPU µs/event   CPU time of the server's process (all threads, user + system) per callback",
        "                        event taken in; for roombot until every event is processed (drained)",
        "  CPU vs bare / floor   that CPU against the bare handler's (json.loads only) and against the",
        "                        bare handler that also verifies the callback JWT (the floor): the",
        "                        median of each run's ratio (the servers of a run seconds apart)",
        "  events/s              throughput with the load generator on the same 2 cores (both sides alike)",
    ],
    "facade": [
        "  CPU ms/action         CPU of the client process per ACS action; wall ms: its latency",
        "  facade/bare           the median of each run's ratio (both sides of a run back to back)",
    ],
    "latency": [
        "  p50 / p99 ms          RecognizeCompleted POST start to the server's next request at ACS",
        "  roombot/bare          the median of each run's ratio (both servers of a run back to back)",
    ],
    "scale": [
        "  RSS KiB/call          growth of the bot process's resident memory per live call",
        "  page / metrics ms     wall time of GET /ops/calls?limit=100 and GET /metrics, median of 5",
        "  ms/connect            the bot's own connect path per room, by batch of rooms joined one after",
        "                        the other by a fresh bot; last/first near 1.0x: connects scale linearly",
    ],
    "remembered": [
        "  events/s, µs/event    callback ingestion as above, by a bot whose store remembers that many",
        "                        event ids (full) and by one on an empty store; full vs empty: the change",
        "  longest step / stall  one housekeeping step's time, and the bot's event loop's longest stall",
        "                        while the steps ran (1 ms ticker), expiring those ids",
    ],
    "takeover": [
        "  takeover s            SIGKILL of the leading replica to: the other's /healthz leading, and the",
        "                        callback it took in meanwhile processed",
    ],
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts, one run: a smoke test")
    parser.add_argument("--runs", type=int, default=None, help="repetitions whose median is printed")
    parser.add_argument(
        "--only", choices=BENCHMARKS, action="append", help="run only this benchmark (repeatable)"
    )
    parser.add_argument(
        "--store",
        action="append",
        metavar="STATE_URL",
        help="state stores the callback and remembered benchmarks measure (repeatable; `sqlite` is a "
        "temporary file, `redis` is ROOMBOT_BENCH_REDIS_URL, default redis://127.0.0.1:6379/14, "
        "under a key prefix of its own, removed after); default: memory://, sqlite and redis",
    )
    return parser


async def run(plan: Plan, only: Sequence[str], stores: Sequence[str] = DEFAULT_STORES) -> list[str]:
    """Run the chosen benchmarks; the printed report, line by line."""
    lines: list[str] = []

    def show(new: list[str]) -> None:
        lines.extend(new)
        print("\n".join(new), flush=True)

    show([f"roombot benchmarks on {machine()}"])
    if "callbacks" in only:
        result = await callbacks.measure(
            posts=plan.posts, runs=plan.runs, concurrency=plan.concurrency, stores=stores
        )
        show(result.lines())
    if "facade" in only:
        show((await facade.measure(actions=plan.actions, runs=plan.runs)).lines())
    if "latency" in only:
        show((await latency.measure(counts=plan.menu_calls, runs=plan.latency_runs)).lines())
    if "scale" in only:
        for store in plan.scale_stores:
            scaled = await scale.measure(
                counts=plan.live_calls, store=store, connects=plan.connects, connect_batch=plan.connect_batch
            )
            show(scaled.lines())
    if "takeover" in only:
        show((await takeover.measure(leases=plan.leases, runs=plan.takeover_runs)).lines())
    if "remembered" in only:
        kept = await remembered.measure(
            remembered=plan.remembered,
            posts=plan.posts,
            runs=plan.latency_runs,
            concurrency=plan.concurrency,
            stores=stores,
        )
        show(kept.lines())
    show(["what the figures mean:", *(line for name in BENCHMARKS if name in only for line in LEGEND[name])])
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.runs is not None:
        if args.runs < 1:
            print("python -m bench: error: --runs must be at least 1", file=sys.stderr)
            return 2
        plan = replace(plan, runs=args.runs, latency_runs=args.runs, takeover_runs=args.runs)
    configure_logging(logging.WARNING)
    asyncio.run(run(plan, args.only or BENCHMARKS, args.store or DEFAULT_STORES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
