"""The facade's HTTP pipeline seen from the wire: one retry layer, the SDK's own headers, no proxy
from the environment, and ROOMBOT_HTTPS_PROXY for HTTPS requests to ACS."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential

from bot.acs import AcsError, AcsFacade, AcsNotFound, AcsUnavailable
from bot.acs.media import identifiers, play_source
from bot.acs.retry import RetryPolicy
from bot.acs.types import call_info
from config import Settings
from config.prompts import Prompt
from emulator.server import RunningEmulator

THREE_TRIES = RetryPolicy(max_attempts=3, max_seconds=5, backoff_base=0.01, backoff_max=0.05, jitter=0)
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
KEY = base64.b64encode(b"any key: these requests never reach ACS").decode()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def control(
    http: aiohttp.ClientSession, emulator: RunningEmulator, method: str, path: str, **kw: Any
) -> Any:
    async with http.request(method, emulator.url + path, **kw) as response:
        assert response.status < 300, await response.text()
        return await response.json() if response.content_length else None


async def requests_to(http: aiohttp.ClientSession, emulator: RunningEmulator, call_id: str) -> list[Any]:
    return [r for r in await control(http, emulator, "GET", "/emulator/requests") if call_id in r["path"]]


async def test_a_failing_action_is_sent_as_often_as_the_bots_policy_says_and_no_more(
    emulator: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    await control(http, emulator, "PUT", "/emulator/faults", json={"callAutomation": {"status": 503}})
    acs = AcsFacade(emulator.url, emulator.config.access_key, retry=THREE_TRIES)
    call_id = str(uuid.uuid4())
    try:
        with pytest.raises(AcsUnavailable):
            await acs.get_call(call_id)
    finally:
        await acs.close()
    # One retry layer: azure-core's own would have multiplied the three attempts.
    assert len(await requests_to(http, emulator, call_id)) == 3


async def test_requests_carry_the_sdks_own_headers(aiohttp_server: ServerFactory) -> None:
    # The emulator's request log keeps no headers: a server that notes them and ends calls.
    seen: list[dict[str, str]] = []

    async def terminate(request: web.Request) -> web.Response:
        seen.append({name.lower(): value for name, value in request.headers.items()})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/calling/callConnections/{id}:terminate", terminate)
    server = await aiohttp_server(app)
    acs = AcsFacade(str(server.make_url("")).rstrip("/"), KEY, retry=THREE_TRIES)
    try:
        await acs.terminate(str(uuid.uuid4()))
    finally:
        await acs.close()
    [headers] = seen
    assert headers["user-agent"].startswith("azsdk-python-communication-callautomation/")
    # A random UUID (version 4): azure-core's default, version 1, carries the host's MAC address.
    assert uuid.UUID(headers["x-ms-client-request-id"]).version == 4
    assert uuid.UUID(headers["repeatability-request-id"])
    assert headers["repeatability-first-sent"].endswith(" GMT")
    assert headers["authorization"].startswith("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256")


async def test_the_proxy_variables_of_the_environment_are_not_read(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy nobody listens on: a request that went through it would fail.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    acs = AcsFacade(emulator.url, emulator.config.access_key, retry=THREE_TRIES)
    try:
        await acs.ping()
    finally:
        await acs.close()


class ProxyRecorder:
    """A proxy that notes the request line of each connection and refuses it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.lines.append(head.split(b"\r\n", 1)[0].decode())
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[ProxyRecorder]:
    recorder = ProxyRecorder()
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    recorder.url = f"http://127.0.0.1:{port}"
    async with server:
        yield recorder


async def test_https_requests_to_acs_go_through_roombot_https_proxy(proxy: ProxyRecorder) -> None:
    settings = Settings(
        _env_file=None,
        acs_connection_string=f"endpoint=https://acs.invalid/;accesskey={KEY}",
        https_proxy=proxy.url,
        retry_max_attempts=1,
    )
    acs = AcsFacade.from_settings(settings)
    try:
        with pytest.raises(AcsError):
            await acs.get_room("1")
    finally:
        await acs.close()
    assert proxy.lines == ["CONNECT acs.invalid:443 HTTP/1.1"]


async def test_plain_http_does_not_go_through_the_https_proxy(
    emulator: RunningEmulator, proxy: ProxyRecorder
) -> None:
    acs = AcsFacade(emulator.url, emulator.config.access_key, retry=THREE_TRIES, proxy=proxy.url)
    try:
        await acs.ping()
    finally:
        await acs.close()
    assert proxy.lines == []


async def test_a_play_goes_out_as_the_stock_sdk_sends_it_and_leaves_no_garbage_cycles(
    aiohttp_server: ServerFactory,
) -> None:
    # The facade serializes request bodies without the SDK's round trip through a new Deserializer
    # (a reference cycle per request); the body on the wire must not change.
    bodies: list[Any] = []

    async def play(request: web.Request) -> web.Response:
        bodies.append(await request.json())
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/calling/callConnections/{id}:play", play)
    server = await aiohttp_server(app)
    endpoint = str(server.make_url("")).rstrip("/")
    call_id = str(uuid.uuid4())
    listener = "8:acs:" + str(uuid.uuid4())
    prompts = [Prompt(text="Press 1 to confirm."), Prompt(audio_url="https://example.com/tone.wav")]

    stock = CallAutomationClient(endpoint, AzureKeyCredential(KEY), retry_total=0)
    async with stock:
        await stock.get_call_connection(call_id).play_media(
            [play_source(prompt) for prompt in prompts],
            identifiers([listener]),
            operation_context="menus:s:1",
        )
    acs = AcsFacade(endpoint, KEY, retry=THREE_TRIES)
    try:
        await acs.media.play(call_id, prompts, to=[listener], operation_context="menus:s:1")
        gc.collect()
        gc.disable()
        try:
            for _ in range(20):
                await acs.media.play(call_id, prompts, to=[listener], operation_context="menus:s:1")
            unreachable = gc.collect()
        finally:
            gc.enable()
    finally:
        await acs.close()

    assert len(bodies) == 22
    assert all(body == bodies[0] for body in bodies[1:])
    assert bodies[0]["playTo"] == [{"rawId": listener, "communicationUser": {"id": listener}}]
    # The SDK's detour left a Deserializer and its bound methods per play: nine objects and more.
    assert unreachable < 20 * 5, f"{unreachable} objects in cycles after 20 plays"


async def test_each_answer_is_parsed_once_and_read_as_the_stock_sdk_reads_it(
    aiohttp_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # azure-core's decoding policy parses every answer, and most generated operations parse it
    # again from the HTTP response; the facade keeps one parse for both readers.
    call_id = str(uuid.uuid4())
    source = "8:acs:" + str(uuid.uuid4())
    answer = {
        "callConnectionId": call_id,
        "serverCallId": "aHR0cHM6Ly9hcGk",
        "callConnectionState": "connected",
        "callbackUri": "https://bot.example.com/api/callbacks",
        "correlationId": str(uuid.uuid4()),
        "source": {"rawId": source, "communicationUser": {"id": source}},
        "targets": [],
    }
    participants = {"value": [{"identifier": answer["source"], "isMuted": True, "isOnHold": False}]}

    async def get_call(request: web.Request) -> web.Response:
        return web.json_response(answer)

    async def list_participants(request: web.Request) -> web.Response:
        return web.json_response(participants)

    async def missing(request: web.Request) -> web.Response:
        error = {"error": {"code": "8522", "message": "Call not found."}}
        return web.json_response(error, status=404)

    app = web.Application()
    app.router.add_get(f"/calling/callConnections/{call_id}", get_call)
    app.router.add_get(f"/calling/callConnections/{call_id}/participants", list_participants)
    app.router.add_get("/calling/callConnections/{id}", missing)
    server = await aiohttp_server(app)
    endpoint = str(server.make_url("")).rstrip("/")

    stock = CallAutomationClient(endpoint, AzureKeyCredential(KEY), retry_total=0)
    async with stock:
        expected = await stock.get_call_connection(call_id).get_call_properties()
    parses = 0
    decode = json.JSONDecoder.decode

    def counted(self: json.JSONDecoder, text: str, *args: Any, **kwargs: Any) -> Any:
        nonlocal parses
        parses += 1
        return decode(self, text, *args, **kwargs)

    monkeypatch.setattr(json.JSONDecoder, "decode", counted)
    acs = AcsFacade(endpoint, KEY, retry=THREE_TRIES)
    try:
        got = await acs.get_call(call_id)
        parses_of_get = parses
        listed = await acs.list_participants(call_id)
        parses_of_list = parses - parses_of_get
        with pytest.raises(AcsNotFound) as missing_call:
            await acs.get_call(str(uuid.uuid4()))
    finally:
        await acs.close()

    assert got == call_info(expected)
    assert (got.state, got.correlation_id) == ("connected", answer["correlationId"])
    assert [(p.raw_id, p.is_muted) for p in listed] == [(source, True)]
    assert (parses_of_get, parses_of_list) == (1, 1)
    # The error body is still read into the SDK's error model.
    assert missing_call.value.code == "8522"
    assert "Call not found." in missing_call.value.message
