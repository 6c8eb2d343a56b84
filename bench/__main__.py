"""``python -m bench``: every benchmark, printed with the machine it ran on.

``--quick`` is a smoke run (tiny counts, one run): it proves the benchmarks work, its figures
mean nothing. Ratios are what to read: both sides of each one run on the same machine, in the
same run, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bench import callbacks, facade
from bench.common import machine
from bot.logs import configure_logging


@dataclass(frozen=True)
class Plan:
    posts: int
    concurrency: int
    actions: int
    runs: int


FULL = Plan(posts=2000, concurrency=16, actions=300, runs=5)
QUICK = Plan(posts=20, concurrency=4, actions=5, runs=1)
BENCHMARKS = ("callbacks", "facade")
DEFAULT_STORES = ("memory://", "sqlite")


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
        help="state stores the callback benchmark measures (repeatable; `sqlite` is a temporary file); "
        "default: memory:// and sqlite",
    )
    return parser


async def run(plan: Plan, only: Sequence[str], stores: Sequence[str] = DEFAULT_STORES) -> list[str]:
    """Run the chosen benchmarks; the printed report, line by line."""
    lines = [f"roombot benchmarks on {machine()}"]
    print(lines[0], flush=True)
    if "callbacks" in only:
        result = await callbacks.measure(
            posts=plan.posts, runs=plan.runs, concurrency=plan.concurrency, stores=stores
        )
        lines += result.lines()
        print("\n".join(result.lines()), flush=True)
    if "facade" in only:
        cost = await facade.measure(actions=plan.actions, runs=plan.runs)
        lines += cost.lines()
        print("\n".join(cost.lines()), flush=True)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.runs is not None:
        if args.runs < 1:
            print("python -m bench: error: --runs must be at least 1", file=sys.stderr)
            return 2
        plan = Plan(plan.posts, plan.concurrency, plan.actions, args.runs)
    configure_logging(logging.WARNING)
    asyncio.run(run(plan, args.only or BENCHMARKS, args.store or DEFAULT_STORES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
