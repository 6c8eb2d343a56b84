"""Serving a bot for tests: settings that ignore the environment, and a bot on a bound port."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.app import create_app
from bot.handlers import HandlerFactory
from bot.http_server import ProblemAppRunner
from config.settings import Settings
from emulator.config import DEV_COGNITIVE_SERVICES_ENDPOINT
from emulator.delivery.signing import OPENID_PATH
from emulator.server import RunningEmulator

BACKEND_KEY = "roombot-test-backend-key"
OPS_KEY = "roombot-test-operator-key"
# Simulated durations (ringing, prompts, the emulator's one-second connect) run 50x faster.
TIME_SCALE = 0.02


class IsolatedSettings(Settings):
    """Settings from constructor arguments only: no ``ROOMBOT_*`` variable, no ``.env`` file.

    A developer's environment must not change what a test runs against."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def bot_settings(emulator: RunningEmulator, callback_base_url: str, **overrides: Any) -> Settings:
    """Settings wiring a bot at ``callback_base_url`` to ``emulator``: in-memory state, test keys,
    fast retries, and the emulator's dev AI services endpoint (text prompts are spoken only on a
    connection that names one). ``overrides`` are Settings fields (``state_url=``, ``auto_join=``,
    ``cognitive_services_endpoint=None``...)."""
    values: dict[str, Any] = {
        "acs_connection_string": emulator.connection_string,
        "callback_base_url": callback_base_url,
        "acs_resource_id": emulator.config.resource_id,
        "acs_openid_url": f"{emulator.url}{OPENID_PATH}",
        "cognitive_services_endpoint": DEV_COGNITIVE_SERVICES_ENDPOINT,
        "backend_api_keys": {BACKEND_KEY},
        "ops_api_keys": {OPS_KEY},
        "state_url": "memory://",
        "retry_max_attempts": 3,
        "retry_max_seconds": 5,
        "retry_backoff_base": 0.01,
        "retry_backoff_max": 0.05,
        "retry_jitter": 0,
    }
    values.update(overrides)
    return IsolatedSettings(**values)


@dataclass
class RunningBot:
    """A bot application served over HTTP; ``url`` is also its ``callback_base_url``."""

    app: web.Application
    runner: web.AppRunner
    url: str
    port: int
    settings: Settings
    handler_factories: Mapping[str, HandlerFactory] | None
    closed: bool = False

    async def close(self) -> None:
        """Stop serving and run the app's cleanup contexts; closing twice is harmless."""
        if not self.closed:
            self.closed = True
            await self.runner.cleanup()


async def serve_bot(
    make_settings: Callable[[str], Settings],
    *,
    handler_factories: Mapping[str, HandlerFactory] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningBot:
    """Bind ``host:port`` (0: a free port), build the settings for the bound URL, serve the bot.

    The socket is bound before the app is built, so the bot's callback URL is its real address
    without a window in which another process could take the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    runner: web.AppRunner | None = None
    try:
        # A restarted bot takes its predecessor's port (ACS keeps calling the old callback URL).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        bound = int(sock.getsockname()[1])
        url = f"http://{host}:{bound}"
        settings = make_settings(url)
        app = create_app(settings, handler_factories=handler_factories)
        runner = ProblemAppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        if runner is not None:
            await runner.cleanup()
        sock.close()
        raise
    return RunningBot(app, runner, url, bound, settings, handler_factories)
