"""Requests built to break a server: JSON nested a hundred thousand deep or with 5,000-digit
numbers on every JSON route, header bytes that are not UTF-8, and bytes aiohttp's HTTP parser
refuses. Each is a 4xx problem+json answer; none is a 5xx; the bot keeps working."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.testing import BACKEND_KEY, OPS_KEY, RoomBot, cloud_event
from tests.e2e.helpers import LiveCall

EVENTGRID_KEY = "hostile-eventgrid-key-0123"
DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE = b"9" * 5000


@pytest.fixture
def roombot_settings_overrides() -> dict[str, Any]:
    return {"eventgrid_key": EVENTGRID_KEY}


async def exchange(roombot: RoomBot, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as raw bytes; the status, headers and body of the answer."""
    host, port = roombot.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    finally:
        writer.close()
    return int(lines[0].split()[1]), headers, body


def http(method: str, path: str, body: bytes = b"", *headers: bytes) -> bytes:
    head = [f"{method} {path} HTTP/1.1".encode(), b"Host: bot", b"Content-Length: %d" % len(body), *headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def assert_4xx_problem(
    answer: tuple[int, dict[str, str], bytes], status: int | None = None
) -> dict[str, Any]:
    code, headers, body = answer
    assert 400 <= code < 500, (code, body[:300])
    if status is not None:
        assert code == status, body[:300]
    assert headers["content-type"].startswith("application/problem+json"), headers
    problem = json.loads(body)
    assert problem["status"] == code
    assert b"Traceback" not in body
    return dict(problem)


JSON = b"Content-Type: application/json"
BACKEND = f"Authorization: Bearer {BACKEND_KEY}".encode()


def json_routes(live_call: LiveCall) -> list[tuple[str, list[bytes]]]:
    room = live_call.room.id
    return [
        (f"/api/eventgrid?key={EVENTGRID_KEY}", [JSON]),
        (f"/api/rooms/{room}/connect", [JSON, BACKEND]),
        (f"/api/rooms/{room}/dialouts", [JSON, BACKEND, b"Idempotency-Key: hostile-1"]),
        (f"/api/rooms/{room}/announcements", [JSON, BACKEND]),
        (f"/api/rooms/{room}/menus", [JSON, BACKEND]),
    ]


@pytest.mark.parametrize(
    "body",
    [DEEP, b'{"a":' * 50 + b"1" + b"}" * 50, b'{"phoneNumber": ' + HUGE + b"}", b"[NaN]", b"\xff\xfe"],
    ids=["nested-100000", "nested-50", "5000-digits", "nan", "not-utf8"],
)
async def test_a_hostile_json_body_is_400_on_every_json_route(
    live_call: LiveCall, roombot: RoomBot, body: bytes
) -> None:
    for path, headers in json_routes(live_call):
        assert_4xx_problem(await exchange(roombot, http("POST", path, body, *headers)), 400)
    callback = f"Authorization: Bearer {roombot.callback_token()}".encode()
    assert_4xx_problem(await exchange(roombot, http("POST", "/api/callbacks", body, JSON, callback)), 400)
    # Nothing broke: the call is still there and a good request still works.
    assert [call["state"] for call in await roombot.calls()] == ["connected"]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (http("GET", "/ops/calls", b"", b"Authorization: Bearer \xff\xfe\xfa"), 401),
        (http("GET", "/ops/calls", b"", "Authorization: Bearer é".encode("latin-1")), 401),
        (http("POST", "/api/callbacks", b"[]", JSON, b"Authorization: Bearer \xff.\xfe.\xfa"), 401),
        (http("POST", "/api/eventgrid?key=%ff%fe", b"[]", JSON), 401),
    ],
    ids=["ops-key", "latin-1-key", "callback-token", "eventgrid-key"],
)
async def test_credentials_that_are_not_utf8_are_401(
    roombot: RoomBot, request_bytes: bytes, status: int
) -> None:
    assert_4xx_problem(await exchange(roombot, request_bytes), status)


async def test_an_idempotency_key_that_is_not_utf8_is_refused(live_call: LiveCall, roombot: RoomBot) -> None:
    body = b'{"phoneNumber": "+14255550123"}'
    path = f"/api/rooms/{live_call.room.id}/dialouts"
    assert_4xx_problem(
        await exchange(roombot, http("POST", path, body, JSON, BACKEND, b"Idempotency-Key: \xff\xfe"))
    )


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /\x01 HTTP/1.1\r\nHost: bot\r\n\r\n",
        b"G@T /healthz HTTP/1.1\r\nHost: bot\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\nHost: bot\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: bot\r\nNoColonHere\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: bot\r\n\r\n",
        b"POST /api/eventgrid HTTP/1.1\r\nHost: bot\r\nContent-Length: abc\r\n\r\n",
        b"POST /api/eventgrid HTTP/1.1\r\nHost: bot\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n[]",
        b"POST /api/eventgrid HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n[]\r\n0\r\n"
        b"\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
    ],
    ids=[
        "control-char-in-path",
        "bad-method",
        "bad-version",
        "header-without-colon",
        "header-over-8190-bytes",
        "url-over-8190-bytes",
        "content-length-not-a-number",
        "two-content-lengths",
        "bad-chunk-size",
        "http2-preface",
        "tls-hello",
    ],
)
async def test_what_the_http_parser_refuses_is_a_400_problem(roombot: RoomBot, request_bytes: bytes) -> None:
    assert_4xx_problem(await exchange(roombot, request_bytes), 400)
    # The bot still answers.
    assert (await roombot.request("GET", "/healthz")).status == 200


async def test_a_body_whose_encoding_lies_is_400(live_call: LiveCall, roombot: RoomBot) -> None:
    path = f"/api/rooms/{live_call.room.id}/announcements"
    request = http("POST", path, b"not gzip", JSON, BACKEND, b"Content-Encoding: gzip")
    assert_4xx_problem(await exchange(roombot, request), 400)


async def test_a_deep_but_reasonable_callback_is_still_handled(live_call: LiveCall, roombot: RoomBot) -> None:
    nested: Any = "leaf"
    for _ in range(20):
        nested = {"n": nested}
    event = cloud_event(live_call.id, "PlayStarted", {"operationContext": "nobody:x", "extra": nested})

    reply = await roombot.post_callbacks([event])

    assert reply.status == 200, reply.text
    assert (await roombot.request("GET", "/ops/calls", key=OPS_KEY)).status == 200
