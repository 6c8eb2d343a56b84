"""API key scopes on a real aiohttp app: 401 without a valid key, 403 with the other scope's key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.auth.api_keys import ApiKeys, Scope
from bot.problems import PROBLEM_CONTENT_TYPE, problem_middleware
from config import Settings

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
Client = TestClient[web.Request, web.Application]

BACKEND_KEY = "backend-key-0123456789"
OTHER_BACKEND_KEY = "backend-key-abcdefghij"
OPS_KEY = "ops-key-0123456789abcd"


def guarded(keys: ApiKeys, scope: Scope) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        keys.require(request, scope)
        return web.json_response({"ok": scope})

    return handler


@pytest.fixture
async def client(aiohttp_client: ClientFactory) -> Client:
    keys = ApiKeys(backend={BACKEND_KEY, OTHER_BACKEND_KEY}, ops={OPS_KEY})
    app = web.Application(middlewares=[problem_middleware])
    app.router.add_post("/api/thing", guarded(keys, "backend"))
    app.router.add_post("/ops/thing", guarded(keys, "ops"))
    return await aiohttp_client(app)


async def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status
    assert response.content_type == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = await response.json(content_type=PROBLEM_CONTENT_TYPE)
    return body


@pytest.mark.parametrize(
    ("path", "key"),
    [("/api/thing", BACKEND_KEY), ("/api/thing", OTHER_BACKEND_KEY), ("/ops/thing", OPS_KEY)],
)
async def test_a_key_of_the_right_scope_passes(client: Client, path: str, key: str) -> None:
    response = await client.post(path, headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200


async def test_the_scheme_is_case_insensitive(client: Client) -> None:
    response = await client.post("/ops/thing", headers={"Authorization": f"bearer {OPS_KEY}"})
    assert response.status == 200


async def test_a_missing_header_is_401_with_a_bearer_challenge(client: Client) -> None:
    response = await client.post("/api/thing")
    body = await problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="roombot"'
    assert "Authorization" in body["detail"]


@pytest.mark.parametrize(
    "header",
    [f"Basic {BACKEND_KEY}", "Bearer", "Bearer   ", BACKEND_KEY, "Bearer wrong-key-0123456789"],
)
async def test_malformed_or_unknown_keys_are_401(client: Client, header: str) -> None:
    response = await client.post("/api/thing", headers={"Authorization": header})
    await problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="roombot", error="invalid_token"'


async def test_a_prefix_of_a_valid_key_is_refused(client: Client) -> None:
    response = await client.post("/api/thing", headers={"Authorization": f"Bearer {BACKEND_KEY[:-1]}"})
    await problem(response, 401)


async def test_an_ops_key_on_a_backend_route_is_403(client: Client) -> None:
    body = await problem(await client.post("/api/thing", headers={"Authorization": f"Bearer {OPS_KEY}"}), 403)
    assert body["detail"] == "This route needs one of ROOMBOT_BACKEND_API_KEYS; this is an ops key."


async def test_a_backend_key_on_an_ops_route_is_403(client: Client) -> None:
    response = await client.post("/ops/thing", headers={"Authorization": f"Bearer {BACKEND_KEY}"})
    assert "WWW-Authenticate" not in response.headers
    await problem(response, 403)


def test_scope_of_finds_each_key() -> None:
    keys = ApiKeys(backend=[BACKEND_KEY], ops=[OPS_KEY])
    assert keys.scope_of(BACKEND_KEY) == "backend"
    assert keys.scope_of(OPS_KEY) == "ops"
    assert keys.scope_of("") is None
    assert keys.scope_of(BACKEND_KEY + "x") is None


def test_no_configured_keys_lets_nothing_through() -> None:
    assert ApiKeys(backend=[], ops=[]).scope_of(BACKEND_KEY) is None


def test_from_settings_uses_both_key_sets() -> None:
    keys = ApiKeys.from_settings(
        Settings(_env_file=None, backend_api_keys={BACKEND_KEY}, ops_api_keys={OPS_KEY})
    )
    assert keys.scope_of(BACKEND_KEY) == "backend"
    assert keys.scope_of(OPS_KEY) == "ops"
