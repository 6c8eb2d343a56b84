"""Running the bot inside this process, wired to an in-process emulator when ACS is not configured:
what `roombot serve` and `roombot demo` share.

The bot's listening socket is bound before its settings are final, because with the embedded
emulator the bot's own URL (port 0 picks a free one) is the callback URL that ACS must be told.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.app import create_app
from bot.http_server import ProblemAppRunner
from config.settings import Settings
from emulator.config import DEV_COGNITIVE_SERVICES_ENDPOINT
from emulator.delivery.signing import OPENID_PATH

# The one other place, besides the CLI, where the bot knows the emulator: wiring the embedded default.
from emulator.server import RunningEmulator

ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (names to recognise, not to bind)
# The embedded emulator serves the public dev key and needs no signature for its control API:
# it listens on this address only, whatever interface the bot itself listens on.
EMULATOR_HOST = "127.0.0.1"
# 24 random bytes give 32 URL-safe characters, twice the length the settings require of a key.
GENERATED_KEY_BYTES = 24
access_logger = logging.getLogger(f"roombot.{__name__}.access")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as given to ``--host``) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    callback JWT fail verification. The callback base URL and the AI services endpoint are kept
    when the user set them (a tunnel or proxy in front of the bot), else they are the bot's own
    URL and the emulator's dev endpoint.
    """
    overrides: dict[str, Any] = {
        "acs_connection_string": emulator.connection_string,
        "acs_resource_id": emulator.config.resource_id,
        "acs_openid_url": f"{emulator.url}{OPENID_PATH}",
    }
    if settings.callback_base_url is None:
        overrides["callback_base_url"] = bot_url
    # The emulator, like ACS, speaks text and SSML prompts only on a connection that names an AI
    # services endpoint; it links any endpoint, so the documented dev value makes text work.
    if settings.cognitive_services_endpoint is None:
        overrides["cognitive_services_endpoint"] = DEV_COGNITIVE_SERVICES_ENDPOINT
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
        info = request.match_info if isinstance(request, web.Request) else {}
        # The room or call the request was about, as every line about one carries.
        about = {"room_id": info.get("roomId"), "call_connection_id": info.get("callConnectionId")}
        self.logger.info(
            "%s %s %s %s %.3fs",
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
            extra={name: value for name, value in about.items() if value is not None},
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
    runner = ProblemAppRunner(
        app,
        handle_signals=False,
        access_log=access_logger if access_log else None,
        access_log_class=PathAccessLogger,
    )
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return RunningBot(app=app, runner=runner, url=url)
