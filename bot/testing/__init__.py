"""Testing roombot and its handler plugins: a bot on a real emulator, over real HTTP.

A third-party handler is tested in a few lines (this package is a pytest plugin)::

    # conftest.py
    pytest_plugins = ["bot.testing"]

    # test_greeter.py
    @pytest.fixture
    def roombot_handler_factories() -> dict[str, HandlerFactory]:
        return {"greeter": Greeter}          # run this handler alone

    async def test_greeter_sees_the_call(roombot: RoomBot) -> None:
        room = await roombot.create_room(["Presenter"])
        await roombot.join(room.id, room.members[0])
        call = await roombot.connect(room.id)  # returns once the call is `connected`
        greeter = roombot.handler("greeter")

Fixtures: ``roombot`` (a :class:`RoomBot`), and the small ones it is built from, to override in a
test module: ``roombot_handler_factories`` (None: every installed plugin),
``roombot_settings_overrides`` (Settings fields, e.g. ``{"auto_join": True}``) and
``roombot_emulator_config`` (time scale 0.02: simulated seconds pass 50 times faster).

Everything runs for real: the emulator on a free loopback port, the bot built by
``create_app`` and served on another, users and rooms made with the official async clients,
participants joined through the emulator's control API, callbacks signed by the emulator.
It is the one place in ``bot/`` that imports the emulator, and it needs the ``test`` extra.
"""

from bot.testing.fixtures import (
    roombot,
    roombot_emulator_config,
    roombot_handler_factories,
    roombot_settings_overrides,
)
from bot.testing.harness import CreatedRoom, Reply, RoomBot, cloud_event, eventually, wait_until
from bot.testing.serving import (
    BACKEND_KEY,
    OPS_KEY,
    TIME_SCALE,
    IsolatedSettings,
    RunningBot,
    bot_settings,
    serve_bot,
)

# The fixtures are listed too: pytest finds a plugin's fixtures among its module's names.
__all__ = [
    "BACKEND_KEY",
    "OPS_KEY",
    "TIME_SCALE",
    "CreatedRoom",
    "IsolatedSettings",
    "Reply",
    "RoomBot",
    "RunningBot",
    "bot_settings",
    "cloud_event",
    "eventually",
    "roombot",
    "roombot_emulator_config",
    "roombot_handler_factories",
    "roombot_settings_overrides",
    "serve_bot",
    "wait_until",
]
