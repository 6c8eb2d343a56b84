"""pytest fixtures of `bot.testing`; override the small ones to shape the bot under test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from bot.handlers import HandlerFactory
from bot.testing.harness import RoomBot
from bot.testing.serving import TIME_SCALE
from emulator.config import EmulatorConfig


@pytest.fixture
def roombot_emulator_config() -> EmulatorConfig:
    """The emulator's configuration; override to change the time scale or keys."""
    return EmulatorConfig(time_scale=TIME_SCALE)


@pytest.fixture
def roombot_handler_factories() -> Mapping[str, HandlerFactory] | None:
    """The handlers the bot runs: None for every installed plugin; override to run yours alone."""
    return None


@pytest.fixture
def roombot_settings_overrides() -> dict[str, Any]:
    """Settings fields for the bot (``auto_join``, ``state_url``...); override to change them."""
    return {}


@pytest.fixture
async def roombot(
    roombot_emulator_config: EmulatorConfig,
    roombot_handler_factories: Mapping[str, HandlerFactory] | None,
    roombot_settings_overrides: dict[str, Any],
) -> AsyncIterator[RoomBot]:
    """An emulator and a bot wired to it, both served over HTTP on free ports."""
    async with RoomBot.start(
        roombot_emulator_config, handler_factories=roombot_handler_factories, **roombot_settings_overrides
    ) as harness:
        yield harness
