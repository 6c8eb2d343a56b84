"""The handler plugin example in README.md works as printed: loaded beside the built-in plugins,
it greets everyone when the bot joins a call."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

from bot.plugins import discover
from bot.testing import RoomBot, eventually

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> types.ModuleType:
    """The README's python block, run as a module of its own."""
    match = re.search(r"```python\n(from typing import ClassVar.*?)```", README.read_text(), re.S)
    assert match, "README.md has no handler example"
    module = types.ModuleType("readme_example")
    exec(compile(match.group(1), str(README), "exec"), module.__dict__)  # noqa: S102 (our own README)
    return module


async def test_the_readme_handler_example_greets_the_call() -> None:
    greeter = readme_example().Greeter
    async with RoomBot.start(handler_factories={**discover(), "greeter": greeter}) as roombot:
        room = await roombot.create_room(["Presenter"])
        await roombot.join(room.id, room.members[0])
        await roombot.connect(room.id)

        async def greeting_played() -> list[dict[str, Any]] | None:
            call = await roombot.emulator_call(room.id)
            plays = [entry for entry in (call or {}).get("media", []) if entry["kind"] == "play"]
            return plays if plays and plays[0]["status"] == "completed" else None

        plays = await eventually(greeting_played, what="the greeting to be played")
        assert [(play["to"], play["sources"][0]["text"]["text"]) for play in plays] == [
            ("everyone", "Welcome. This call is recorded for quality.")
        ]
