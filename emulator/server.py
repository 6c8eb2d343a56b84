"""Running an emulator: bind, learn the real URL, serve; used by the CLI, the bot's embedded
default and the test fixtures alike."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from aiohttp import web

from emulator.app import create_emulator_app
from emulator.config import EmulatorConfig
from emulator.keys import PUBLIC_URL


@dataclass
class RunningEmulator:
    app: web.Application
    runner: web.AppRunner
    url: str
    config: EmulatorConfig

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.url}/;accesskey={self.config.access_key}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_emulator(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    public_host: str | None = None,
) -> RunningEmulator:
    """Serve an emulator on ``host:port`` (0 picks a free port) and return it running.

    ``public_host`` is the host name written into URLs (default ``host``, or 127.0.0.1 when
    binding every interface): with TLS it must match the certificate, e.g. ``localhost``.
    """
    config = config or EmulatorConfig()
    app = create_emulator_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    server = site._server  # aiohttp exposes the bound port only through the server's sockets
    assert server is not None
    bound_port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    scheme = "https" if ssl_context else "http"
    name = public_host or ("127.0.0.1" if host in {"0.0.0.0", "::", ""} else host)  # noqa: S104
    url = f"{scheme}://{name}:{bound_port}"
    app[PUBLIC_URL].value = url
    return RunningEmulator(app=app, runner=runner, url=url, config=config.with_public_url(url))
