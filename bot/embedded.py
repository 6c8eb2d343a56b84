"""Running the bot inside this process, wired to an in-process emulator when ACS is not configured:
what `roombot serve` and `roombot demo` share.

The bot's listening socket is bound before its settings are final, because with the embedded
emulator the bot's own URL (port 0 picks a free one) is the callback URL that ACS must be told.
"""

from __future__ import annotations

import logging
import secrets
import socket
import sys
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.app import create_app
from config.settings import Settings
from emulator.delivery.signing import OPENID_PATH

# The one other place, besides the CLI, where the bot knows the emulator: wiring the embedded default.
from emulator.server import RunningEmulator

ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (names to recognise, not to bind)
# 24 random bytes give 32 URL-safe characters, twice the length the settings require of a key.
GENERATED_KEY_BYTES = 24
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int) -> None:
    """``level`` for roombot's own loggers; the Azure SDK only from WARNING, because its HTTP logging
    policy writes every request and response at INFO."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("azure").setLevel(max(level, logging.WARNING))
    # The Rooms SDK stamps Repeatability-First-Sent with a naive utcnow() and then warns about
    # its own value on every create_room: noise that says nothing about this program.
    logging.getLogger("azure.communication.rooms._generated._serialization").setLevel(logging.ERROR)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 picks a free port); OSError if it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def url_host(host: str) -> str:
    """The host name to write into URLs for a server bound to ``host``."""
    if host in ALL_INTERFACES:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def socket_url(host: str, sock: socket.socket) -> str:
    port: int = sock.getsockname()[1]
    return f"http://{url_host(host)}:{port}"


def generated_api_key() -> str:
    return secrets.token_urlsafe(GENERATED_KEY_BYTES)


def emulator_overrides(emulator: RunningEmulator, bot_url: str, settings: Settings) -> dict[str, Any]:
    """Settings that point the bot at an in-process emulator.

    The resource id and OpenID URL are always the emulator's: any other value would make every
    callback JWT fail verification. The callback base URL is kept when the user set one (a tunnel
    or proxy in front of the bot), else it is the bot's own URL.
    """
    overrides: dict[str, Any] = {
        "acs_connection_string": emulator.connection_string,
        "acs_resource_id": emulator.config.resource_id,
        "acs_openid_url": f"{emulator.url}{OPENID_PATH}",
    }
    if settings.callback_base_url is None:
        overrides["callback_base_url"] = bot_url
    return overrides


def with_overrides(settings: Settings, overrides: dict[str, Any]) -> Settings:
    """``settings`` with ``overrides`` applied and validated again, its other values kept as they are
    (the environment is not read again)."""
    if not overrides:
        return settings
    return type(settings)(**{**settings.model_dump(), **overrides})


class PathAccessLogger(AbstractAccessLogger):
    """One line per request: method, path, status, size, time.

    The path is logged without its query string: the Event Grid subscription URL carries its
    secret as ``?key=``, and aiohttp's default format (``%r``, the request line) would log it."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %.3fs",
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )


@dataclass
class RunningBot:
    app: web.Application
    runner: web.AppRunner
    url: str

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_bot(settings: Settings, sock: socket.socket, url: str, *, access_log: bool) -> RunningBot:
    """Build the bot, run its start-up (state store, ACS client, handlers) and serve it on ``sock``.

    Raises what start-up raises (PluginError, StateStoreError, OSError); nothing is left running then.
    """
    app = create_app(settings)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        access_log_class=PathAccessLogger,
    )
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return RunningBot(app=app, runner=runner, url=url)
