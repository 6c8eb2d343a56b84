"""A round-robin HTTP load balancer on loopback, as a deployment puts in front of its replicas.

Each request goes to the next backend; one that refuses the connection (a killed replica) is
skipped for the next, as a load balancer's health checks would soon make it. Nothing is sticky.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from itertools import count

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length"}
)


@dataclass
class Proxy:
    backends: list[str]
    url: str = ""
    served: dict[str, int] = field(default_factory=dict)


@asynccontextmanager
async def round_robin(backends: list[str]) -> AsyncIterator[Proxy]:
    proxy = Proxy(backends)
    turn = count()
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        start = next(turn)
        for offset in range(len(proxy.backends)):
            backend = proxy.backends[(start + offset) % len(proxy.backends)]
            try:
                async with session.request(
                    request.method, backend + request.path_qs, headers=headers, data=body or None
                ) as reply:
                    payload = await reply.read()
                    kept = CIMultiDict(
                        (k, v) for k, v in reply.headers.items() if k.lower() not in HOP_BY_HOP
                    )
                    proxy.served[backend] = proxy.served.get(backend, 0) + 1
                    return web.Response(status=reply.status, headers=kept, body=payload)
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502, text="no backend answers")

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = runner.server
    assert server is not None
    port = runner.addresses[0][1]
    proxy.url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        await runner.cleanup()
        await session.close()
