"""Simulated time: real wall-clock dates, scaled durations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


class Clock:
    """Scales simulated durations by ``time_scale``; dates stay real.

    Room validity windows and token expiry are compared with the real clock, because clients
    and the bot see real time. Only durations the emulator invents (ringing, prompt length,
    DTMF timeouts) are scaled, so tests and demos run fast without changing protocol time.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale

    def now(self) -> datetime:
        return datetime.now(UTC)

    def scaled(self, seconds: float) -> float:
        return max(0.0, seconds * self.time_scale)

    async def sleep(self, seconds: float) -> None:
        """Sleep for a simulated duration."""
        await asyncio.sleep(self.scaled(seconds))
