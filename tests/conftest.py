"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from emulator.config import EmulatorConfig
from emulator.server import RunningEmulator, start_emulator

# `roombot` and its small fixtures, as a third-party handler's suite gets them.
pytest_plugins = ["bot.testing"]

# Simulated durations run 50x faster in tests: ringing, prompts and timeouts stay ordered
# as in real calls but take milliseconds.
TEST_TIME_SCALE = 0.02


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(time_scale=TEST_TIME_SCALE)


@pytest.fixture
async def emulator(emulator_config: EmulatorConfig) -> AsyncIterator[RunningEmulator]:
    """An emulator served over real HTTP on a free loopback port."""
    running = await start_emulator(emulator_config)
    try:
        yield running
    finally:
        await running.close()
