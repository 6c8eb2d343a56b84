"""`bot.testing` as a third party uses it: a separate test suite with `pytest_plugins =
["bot.testing"]` tests its own handler in a few lines, in a pytest process of its own; and the
helpers' own promises."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.plugins import PluginError
from bot.testing import RoomBot, bot_settings, serve_bot, wait_until
from config.settings import Settings

CONFTEST = 'pytest_plugins = ["bot.testing"]\n'

PYTEST_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

SUITE = """
from typing import ClassVar

import pytest
from pydantic import BaseModel

from bot.handlers import BaseHandler
from bot.testing import RoomBot, wait_until


class GreeterConfig(BaseModel):
    greeting: str = "hello"


class Greeter(BaseHandler):
    name: ClassVar[str] = "greeter"
    Config: ClassVar[type[BaseModel]] = GreeterConfig

    def __init__(self, config):
        self.config = config
        self.seen = []

    async def on_event(self, event, ctx):
        self.seen.append((event.type, ctx.room_id))


@pytest.fixture
def roombot_handler_factories():
    return {"greeter": Greeter}


@pytest.fixture
def roombot_settings_overrides():
    return {"handlers": {"greeter": {"greeting": "bonjour"}}}


async def test_the_greeter_sees_the_call(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])
    await roombot.join(room.id, room.members[0])

    call = await roombot.connect(room.id)

    greeter = roombot.handler("greeter")
    await wait_until(lambda: ("CallConnected", room.id) in greeter.seen)
    assert greeter.config.greeting == "bonjour"
    assert call["roomId"] == room.id
    assert call["state"] == "connected"


async def test_only_the_given_handler_runs(roombot: RoomBot) -> None:
    with pytest.raises(KeyError):
        roombot.handler("end_call")
"""


def test_a_third_party_suite_runs_its_handler_on_the_bot(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "pytest.ini").write_text(PYTEST_INI)
    (tmp_path / "test_greeter.py").write_text(textwrap.dedent(SUITE))

    finished = subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "2 passed" in finished.stdout


async def test_settings_ignore_the_environment(roombot: RoomBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMBOT_AUTO_JOIN", "true")
    monkeypatch.setenv("ROOMBOT_STATE_URL", "redis://127.0.0.1:1/0")

    settings = bot_settings(roombot.emulator, "http://127.0.0.1:9")

    assert settings.auto_join is False
    assert settings.state_url == "memory://"
    assert settings.callback_url == "http://127.0.0.1:9/api/callbacks"


async def test_the_bot_is_served_at_its_callback_address(roombot: RoomBot) -> None:
    settings = roombot.bot.settings

    assert settings.callback_url == f"{roombot.url}/api/callbacks"
    assert (await roombot.request("GET", "/healthz")).status == 200


async def test_a_bot_that_cannot_start_leaves_nothing_open(roombot: RoomBot) -> None:
    def bad_settings(url: str) -> Settings:
        return bot_settings(roombot.emulator, url, handlers={"end_call": {"end_at_valid_until": "maybe"}})

    with pytest.raises(PluginError, match="end_at_valid_until"):
        await serve_bot(bad_settings)


async def test_a_wait_that_times_out_says_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0\.05s waiting for the moon"):
        await wait_until(lambda: None, within=0.05, what="the moon")
