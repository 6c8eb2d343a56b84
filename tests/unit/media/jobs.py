"""Media jobs for the scheduler tests: each records when the scheduler started it."""

from __future__ import annotations

import asyncio

from bot.media.scheduler import MediaJob

PERSON = frozenset({"8:acs:person"})
OTHER = frozenset({"8:acs:other"})


class Starts:
    """Records which jobs the scheduler started, by operation context."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.a_start = asyncio.Event()

    def job(
        self,
        context: str,
        targets: frozenset[str] | None,
        *,
        loop: bool = False,
        expected_seconds: float = 0.0,
    ) -> MediaJob:
        async def start() -> None:
            self.started.append(context)
            self.a_start.set()

        return MediaJob(
            "call-1", context, start, targets=targets, loop=loop, expected_seconds=expected_seconds
        )


async def started(starts: Starts, context: str) -> None:
    while context not in starts.started:
        starts.a_start.clear()
        await starts.a_start.wait()
