"""A slow NOTIFY_URL: aiohttp's total timeout raises TimeoutError (no aiohttp.ClientError), and
the notifier must retry it, then give up with False rather than let it escape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.notify import Notifier

SECRET = "notify-timeout-secret"


class SlowBackend:
    """Answers 204, but only after ``delays[n]`` seconds for its n-th request (then at once)."""

    def __init__(self, *delays: float) -> None:
        self.delays = list(delays)
        self.requests = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        delay = self.delays.pop(0) if self.delays else 0.0
        await asyncio.sleep(delay)
        return web.Response(status=204)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def serve(backend: SlowBackend) -> TestServer:
    app = web.Application()
    app.router.add_post("/notify", backend.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_a_backend_slower_than_the_timeout_is_retried_then_given_up(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    backend = SlowBackend(5.0, 5.0)
    server = await serve(backend)
    try:
        notifier = Notifier(session, str(server.make_url("/notify")), SECRET, attempts=2, timeout=0.2)

        delivered = await notifier.notify("dialout.confirmed", id="d-1")
    finally:
        await server.close()

    assert delivered is False
    assert backend.requests == 2
    assert "notification dialout.confirmed" in caplog.text


async def test_a_timed_out_attempt_is_followed_by_one_that_gets_through(
    session: aiohttp.ClientSession,
) -> None:
    backend = SlowBackend(5.0)
    server = await serve(backend)
    try:
        notifier = Notifier(session, str(server.make_url("/notify")), SECRET, attempts=3, timeout=0.2)

        delivered = await notifier.notify("dialout.failed", id="d-2")
    finally:
        await server.close()

    assert delivered is True
    assert backend.requests == 2
