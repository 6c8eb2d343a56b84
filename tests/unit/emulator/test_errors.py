"""The emulator's last line of defence: an unexpected exception in a route is logged and
answered 500 with an ACS error body, never with aiohttp's plain-text page or a traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from emulator.app import create_emulator_app
from emulator.config import EmulatorConfig

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[Client]]


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals: password=hunter2")


async def missing_key(request: web.Request) -> web.Response:
    known: dict[str, int] = {}
    return web.json_response(known[request.match_info["name"]])


@pytest.fixture
async def client(aiohttp_client: ClientFactory) -> Client:
    app = create_emulator_app(EmulatorConfig(time_scale=0.02))
    # Under /emulator/ the routes need no HMAC signature; the middleware chain is the real one.
    app.router.add_get("/emulator/test/crash", crash)
    app.router.add_get("/emulator/test/missing/{name}", missing_key)
    return await aiohttp_client(app)


@pytest.mark.parametrize("path", ["/emulator/test/crash", "/emulator/test/missing/anything"])
async def test_an_unexpected_exception_is_a_500_with_an_acs_body(
    client: Client, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="roombot.emulator.errors"):
        response = await client.get(path)

    assert response.status == 500
    assert response.content_type == "application/json"
    assert response.headers["x-ms-error-code"] == "InternalServerError"
    body = await response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "InternalServerError"
    assert path in body["error"]["message"]
    text = await response.text()
    assert "hunter2" not in text
    assert "Traceback" not in text
    [record] = caplog.records
    assert record.exc_info is not None


async def test_known_errors_keep_their_own_answers(client: Client) -> None:
    response = await client.get("/emulator/no/such/route")

    assert response.status == 404
    assert (await response.json())["error"]["code"] == "NotFound"
