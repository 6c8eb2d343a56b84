"""Fixtures of the verifier's tests: a real key server on a port of its own, a client session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.unit.auth.keyserver import KeyServer, ServerFactory, new_key


@pytest.fixture
async def key_server(aiohttp_server: ServerFactory) -> KeyServer:
    server = KeyServer(keys={"k1": new_key()})
    running = await aiohttp_server(server.app())
    server.url = str(running.make_url("")).rstrip("/")
    return server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
