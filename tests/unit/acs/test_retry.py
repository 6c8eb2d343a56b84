"""The retry policy against a real aiohttp server that answers scripted statuses."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from azure.core import AsyncPipelineClient
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.core.pipeline.policies import HeadersPolicy
from azure.core.rest import AsyncHttpResponse, HttpRequest

from bot.acs.retry import (
    REPEATABILITY_FIRST_SENT,
    REPEATABILITY_REQUEST_ID,
    Headers,
    RetryPolicy,
    repeatability_headers,
)
from config import Settings

Pipeline = AsyncPipelineClient[HttpRequest, AsyncHttpResponse]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@dataclass
class ScriptedServer:
    """Answers each POST with the next scripted (status, headers); 201 once the script ends."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    seen: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.headers))
        status, headers = self.script.pop(0) if self.script else (201, {})
        return web.json_response({"status": status}, status=status, headers=headers)


@dataclass
class Sleeps:
    """Records the waits the policy asks for instead of sleeping: fast tests, exact values."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def server(aiohttp_server: ServerFactory) -> ScriptedServer:
    scripted = ScriptedServer()
    app = web.Application()
    app.router.add_post("/things", scripted.handle)
    running = await aiohttp_server(app)
    scripted.url = str(running.make_url("")).rstrip("/")
    return scripted


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[Pipeline]:
    # Only a headers policy: azure-core's own retry policy is left out, as in the facade.
    async with Pipeline(server.url, policies=[HeadersPolicy()]) as pipeline:
        yield pipeline


def post_things(client: Pipeline, attempts: list[Headers]) -> Callable[[Headers], Awaitable[int]]:
    async def action(headers: Headers) -> int:
        attempts.append(headers)
        url = client.format_url("/things")
        response = await client.send_request(HttpRequest("POST", url, headers=headers, json={}))
        response.raise_for_status()
        return response.status_code

    return action


def policy(**overrides: float) -> tuple[RetryPolicy, Sleeps]:
    sleeps = Sleeps()
    values = {"max_attempts": 5, "max_seconds": 30.0, "backoff_base": 0.5, "backoff_max": 8.0, "jitter": 0.0}
    values.update(overrides)
    return (
        RetryPolicy(
            max_attempts=int(values["max_attempts"]),
            max_seconds=values["max_seconds"],
            backoff_base=values["backoff_base"],
            backoff_max=values["backoff_max"],
            jitter=values["jitter"],
            sleep=sleeps,
        ),
        sleeps,
    )


async def test_retries_a_503_honouring_retry_after_with_one_repeatability_id(
    server: ScriptedServer, client: Pipeline
) -> None:
    server.script = [(503, {"Retry-After": "2"}), (503, {"retry-after-ms": "250"})]
    retry, sleeps = policy()
    attempts: list[Headers] = []
    assert await retry.call(post_things(client, attempts)) == 201
    assert len(server.seen) == 3
    ids = {headers[REPEATABILITY_REQUEST_ID] for headers in server.seen}
    first_sent = {headers[REPEATABILITY_FIRST_SENT] for headers in server.seen}
    assert len(ids) == 1
    assert len(first_sent) == 1
    assert sleeps.waits == [2.0, 0.25]


async def test_each_logical_action_gets_its_own_repeatability_id(
    server: ScriptedServer, client: Pipeline
) -> None:
    retry, _ = policy()
    attempts: list[Headers] = []
    await retry.call(post_things(client, attempts))
    await retry.call(post_things(client, attempts))
    assert attempts[0][REPEATABILITY_REQUEST_ID] != attempts[1][REPEATABILITY_REQUEST_ID]


async def test_a_persisted_repeatability_id_is_reused(server: ScriptedServer, client: Pipeline) -> None:
    server.script = [(500, {})]
    retry, _ = policy()
    first_sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    persisted = repeatability_headers("6f1c1d8e-0000-4000-8000-000000000001", first_sent)
    await retry.call(post_things(client, []), headers=persisted)
    assert [h[REPEATABILITY_REQUEST_ID] for h in server.seen] == [persisted[REPEATABILITY_REQUEST_ID]] * 2
    assert server.seen[0][REPEATABILITY_FIRST_SENT] == "Fri, 02 Jan 2026 03:04:05 GMT"


async def test_exponential_backoff_without_retry_after(server: ScriptedServer, client: Pipeline) -> None:
    server.script = [(500, {}), (502, {}), (504, {}), (429, {})]
    retry, sleeps = policy(backoff_base=0.5, backoff_max=2.0)
    assert await retry.call(post_things(client, [])) == 201
    assert sleeps.waits == [0.5, 1.0, 2.0, 2.0]


async def test_jitter_stays_within_its_bound(server: ScriptedServer, client: Pipeline) -> None:
    server.script = [(500, {}) for _ in range(3)]
    retry, sleeps = policy(backoff_base=1.0, backoff_max=1.0, jitter=0.5)
    await retry.call(post_things(client, []))
    assert all(1.0 <= wait <= 1.5 for wait in sleeps.waits)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412])
async def test_client_errors_are_not_retried(server: ScriptedServer, client: Pipeline, status: int) -> None:
    server.script = [(status, {"Retry-After": "1"})]
    retry, sleeps = policy()
    with pytest.raises(HttpResponseError) as failed:
        await retry.call(post_things(client, []))
    assert failed.value.status_code == status
    assert len(server.seen) == 1
    assert sleeps.waits == []


async def test_gives_up_after_max_attempts_and_reraises_the_last_error(
    server: ScriptedServer, client: Pipeline
) -> None:
    server.script = [(503, {}), (503, {}), (502, {})]
    retry, _ = policy(max_attempts=3)
    with pytest.raises(HttpResponseError) as failed:
        await retry.call(post_things(client, []))
    assert failed.value.status_code == 502
    assert len(server.seen) == 3


async def test_the_time_budget_caps_retry_after_and_stops_retrying(
    server: ScriptedServer, client: Pipeline
) -> None:
    server.script = [(503, {"Retry-After": "3600"}) for _ in range(10)]
    retry, sleeps = policy(max_seconds=0.5, max_attempts=10)
    with pytest.raises(HttpResponseError):
        await retry.call(post_things(client, []))
    # Never an hour's wait: each asked-for wait is cut to what is left of the budget.
    assert sleeps.waits
    assert all(wait <= 0.5 for wait in sleeps.waits)


async def test_the_real_budget_stops_retrying(server: ScriptedServer, client: Pipeline) -> None:
    server.script = [(503, {"retry-after-ms": "50"}) for _ in range(100)]
    retry = RetryPolicy(max_attempts=100, max_seconds=1.0, jitter=0)
    with pytest.raises(HttpResponseError) as failed:
        await retry.call(post_things(client, []))
    assert failed.value.status_code == 503
    assert 1 < len(server.seen) < 100


async def test_an_action_that_could_act_twice_is_resent_only_when_refused(
    server: ScriptedServer, client: Pipeline
) -> None:
    retry, _ = policy()
    # 500 and 503 (a gateway's answer also when the service acted and the answer was lost): once.
    for status in (500, 503):
        server.seen.clear()
        server.script = [(status, {})]
        with pytest.raises(HttpResponseError):
            await retry.call(post_things(client, []), idempotent=False, repeatability=False)
        assert len(server.seen) == 1

    server.seen.clear()
    server.script = [(408, {}), (429, {})]
    attempts: list[Headers] = []
    assert await retry.call(post_things(client, attempts), idempotent=False, repeatability=False) == 201
    assert len(server.seen) == 3
    assert all(REPEATABILITY_REQUEST_ID not in headers for headers in attempts)


async def test_connection_errors_are_retried_then_reraised() -> None:
    retry, sleeps = policy(max_attempts=3)
    calls = 0
    # Port 9 (discard) is closed on the test machine: every connection is refused.
    async with Pipeline("http://127.0.0.1:9", policies=[HeadersPolicy()]) as pipeline:

        async def action(headers: Headers) -> int:
            nonlocal calls
            calls += 1
            response = await pipeline.send_request(HttpRequest("GET", "http://127.0.0.1:9/"))
            return response.status_code

        with pytest.raises(ServiceRequestError):
            await retry.call(action)
    assert calls == 3
    assert len(sleeps.waits) == 2


async def test_unexpected_exceptions_are_not_retried() -> None:
    retry, _ = policy()
    calls = 0

    async def action(headers: Headers) -> int:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await retry.call(action)
    assert calls == 1


async def test_an_action_that_succeeds_at_once_leaves_no_garbage_cycles() -> None:
    # Reference cycles wait for the cyclic collector, whose pauses a busy bot feels: an ACS
    # action that succeeds on its first attempt must leave none behind.
    retry, _ = policy()

    async def action(headers: Headers) -> int:
        return len(headers)

    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            assert await retry.call(action) == 2
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable < 50, f"{unreachable} objects in cycles after 50 actions"


def test_repeatability_headers_are_rfc1123_and_unique() -> None:
    first, second = repeatability_headers(), repeatability_headers()
    assert first[REPEATABILITY_REQUEST_ID] != second[REPEATABILITY_REQUEST_ID]
    assert first[REPEATABILITY_FIRST_SENT].endswith(" GMT")
    naive = repeatability_headers("id", datetime(2026, 3, 12, 8, 0, 0))
    assert naive == {
        REPEATABILITY_REQUEST_ID: "id",
        REPEATABILITY_FIRST_SENT: "Thu, 12 Mar 2026 08:00:00 GMT",
    }


def test_from_settings_copies_the_retry_settings() -> None:
    settings = Settings(
        _env_file=None,
        retry_max_attempts=7,
        retry_max_seconds=12,
        retry_backoff_base=0.25,
        retry_backoff_max=4,
        retry_jitter=0.1,
    )
    retry = RetryPolicy.from_settings(settings)
    assert (retry.max_attempts, retry.max_seconds, retry.backoff_base, retry.backoff_max, retry.jitter) == (
        7,
        12,
        0.25,
        4,
        0.1,
    )


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="max_seconds"):
        RetryPolicy(max_seconds=0)
