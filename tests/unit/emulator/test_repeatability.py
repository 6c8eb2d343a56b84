"""The repeatability cache behind a real aiohttp app: what is remembered, what is not, and that
nothing is left behind for requests it did not remember."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from emulator.protocol.errors import AcsError, error_middleware
from emulator.protocol.repeatability import HEADER, RepeatabilityCache, repeatability_middleware

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[Client]]


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    async def created(self, request: web.Request) -> web.Response:
        self.calls += 1
        return web.json_response({"n": self.calls}, status=201)

    async def unavailable(self, request: web.Request) -> web.Response:
        self.calls += 1
        return web.json_response({"n": self.calls}, status=503)

    async def crash(self, request: web.Request) -> web.Response:
        self.calls += 1
        raise RuntimeError("boom")

    async def refused(self, request: web.Request) -> web.Response:
        self.calls += 1
        raise AcsError(409, "8519", "already there")


def app_with(cache: RepeatabilityCache, counter: Counter) -> web.Application:
    app = web.Application(middlewares=[error_middleware, repeatability_middleware(cache)])
    app.router.add_post("/created", counter.created)
    app.router.add_post("/other", counter.created)
    app.router.add_post("/unavailable", counter.unavailable)
    app.router.add_post("/crash", counter.crash)
    app.router.add_post("/refused", counter.refused)
    return app


@pytest.fixture
def cache() -> RepeatabilityCache:
    return RepeatabilityCache(ttl_seconds=300)


@pytest.fixture
def counter() -> Counter:
    return Counter()


@pytest.fixture
async def client(aiohttp_client: ClientFactory, cache: RepeatabilityCache, counter: Counter) -> Client:
    return await aiohttp_client(app_with(cache, counter))


async def post(client: Client, path: str, request_id: str) -> tuple[int, dict[str, int]]:
    response = await client.post(path, headers={HEADER: request_id})
    return response.status, await response.json()


async def test_a_repeat_on_the_same_path_gets_the_first_answer(client: Client, counter: Counter) -> None:
    request_id = str(uuid.uuid4())

    assert await post(client, "/created", request_id) == (201, {"n": 1})
    assert await post(client, "/created", request_id) == (201, {"n": 1})
    assert counter.calls == 1


async def test_the_same_id_on_another_path_is_processed(client: Client, counter: Counter) -> None:
    request_id = str(uuid.uuid4())

    await post(client, "/created", request_id)
    assert await post(client, "/other", request_id) == (201, {"n": 2})
    assert counter.calls == 2


async def test_a_remembered_4xx_is_answered_again(client: Client, counter: Counter) -> None:
    request_id = str(uuid.uuid4())

    first = await client.post("/refused", headers={HEADER: request_id})
    again = await client.post("/refused", headers={HEADER: request_id})

    assert (first.status, again.status) == (409, 409)
    assert again.headers["x-ms-error-code"] == "8519"
    assert first.headers["Repeatability-Result"] == again.headers["Repeatability-Result"] == "accepted"
    assert counter.calls == 1


async def test_the_first_answer_says_accepted_and_one_without_an_id_says_nothing(client: Client) -> None:
    first = await client.post("/created", headers={HEADER: str(uuid.uuid4())})
    plain = await client.post("/created")

    assert first.headers["Repeatability-Result"] == "accepted"
    assert "Repeatability-Result" not in plain.headers


@pytest.mark.parametrize("path", ["/unavailable", "/crash"])
async def test_server_failures_are_not_remembered_and_leave_no_lock(
    client: Client, cache: RepeatabilityCache, counter: Counter, path: str
) -> None:
    request_id = str(uuid.uuid4())

    first = await client.post(path, headers={HEADER: request_id})
    again = await client.post(path, headers={HEADER: request_id})

    assert first.status == again.status >= 500
    assert "Repeatability-Result" not in first.headers
    assert counter.calls == 2
    assert len(cache) == 0
    assert cache.busy_keys == 0


async def test_locks_go_once_their_requests_are_done(
    client: Client, cache: RepeatabilityCache, counter: Counter
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(20)]

    await asyncio.gather(*(post(client, "/created", i) for i in ids + ids))

    assert counter.calls == 20
    assert len(cache) == 20
    assert cache.busy_keys == 0


async def test_answers_expire_after_the_window(aiohttp_client: ClientFactory, counter: Counter) -> None:
    cache = RepeatabilityCache(ttl_seconds=0.01)
    client = await aiohttp_client(app_with(cache, counter))
    request_id = str(uuid.uuid4())

    await post(client, "/created", request_id)
    await asyncio.sleep(0.05)

    assert len(cache) == 0
    assert await post(client, "/created", request_id) == (201, {"n": 2})
