"""e2e fixtures: the bot on the emulator, both over real HTTP, through `bot.testing`
(registered as a plugin by the root conftest); the dial-out test bed, and a plain receiver for
the bot's notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.testing import CreatedRoom, RoomBot
from tests.e2e.dialout.support import DialOutBed, dialout_bed
from tests.e2e.helpers import LiveCall
from tests.support.callback_sink import CallbackSink


@pytest.fixture
async def live_call(roombot: RoomBot) -> LiveCall:
    """A room (Presenter, Attendee) whose Presenter is in the call, and the bot connected to it."""
    room = await roombot.create_room(["Presenter", "Attendee"])
    await roombot.join(room.id, room.members[0])
    call = await roombot.connect(room.id)
    return LiveCall(room, call)


@pytest.fixture
async def durable_roombot(tmp_path: Path) -> AsyncIterator[RoomBot]:
    """Like `roombot`, with the bot's state in a SQLite file that a restart keeps."""
    async with RoomBot.start(state_url=f"sqlite:///{tmp_path / 'state.db'}") as harness:
        yield harness


@pytest.fixture
async def bed() -> AsyncIterator[DialOutBed]:
    """A bot with every installed handler, wired to a NOTIFY_URL receiver (`tests.e2e.dialout.support`)."""
    async with dialout_bed() as bed:
        yield bed


@pytest.fixture
async def room(bed: DialOutBed) -> CreatedRoom:
    """A room of ``bed`` whose call the bot is in."""
    return await bed.room()


@pytest.fixture
async def sink() -> AsyncIterator[CallbackSink]:
    async with CallbackSink() as receiver:
        yield receiver
