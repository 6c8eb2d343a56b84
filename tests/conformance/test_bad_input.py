"""Malformed input the emulator once answered with aiohttp's plain-text 500: URLs that do not
parse, dates beyond the calendar, header bytes that are not ASCII. Each is now a 4xx with the
ACS error body a client can parse."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from emulator.protocol.hmac_auth import content_hash
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import add_room, control, join, received
from tests.conformance.conftest import RawAnswer, rfc1123, signed_request
from tests.support.callback_sink import CallbackSink

CALLS = "/calling/callConnections"
CA_VERSION = "?api-version=2026-03-12"
ROOMS = "/rooms?api-version=2025-03-13"
# urlsplit raises ValueError on an unclosed IPv6 bracket; a port beyond 65535 raises on .port.
BAD_URLS = ["http://[::1", "http://[x/path", "http://example.com:99999/x"]


def assert_invalid(answer: RawAnswer, target: str) -> None:
    """Call Automation's 400/8523 naming the field."""
    assert answer.status == 400, answer
    assert answer.headers["Content-Type"].startswith("application/json")
    # Call Automation puts the code in the body only (recorded live traffic).
    assert "x-ms-error-code" not in answer.headers
    assert answer.body["error"]["code"] == "8523"
    assert answer.body["error"]["target"] == target


def assert_bad_argument(answer: RawAnswer, target: str) -> None:
    """The Rooms API's 400 BadRequest/BadArgument naming the field."""
    assert answer.status == 400, answer
    assert answer.body["error"]["code"] == "BadRequest"
    assert answer.body["error"]["details"][0]["target"] == target


async def connected_call(emulator: RunningEmulator, sink: CallbackSink) -> str:
    """A room call with one member and an app connected at /bot, through raw signed requests."""
    room = add_room(emulator, ("Presenter", "Attendee"))
    await join(emulator, room.id, room.members[0])
    body = {"callLocator": {"kind": "roomCallLocator", "roomId": room.id}, "callbackUri": sink.url("/bot")}
    answer = await signed_request(emulator, "POST", f"{CALLS}:connect{CA_VERSION}", body)
    assert answer.status == 200, answer
    await sink.wait_for(received("/bot", "CallConnected"))
    call_connection_id: str = answer.body["callConnectionId"]
    return call_connection_id


@pytest.mark.parametrize("url", BAD_URLS)
async def test_connect_with_an_unparsable_callback_uri_is_400(emulator: RunningEmulator, url: str) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    body = {"callLocator": {"kind": "roomCallLocator", "roomId": room.id}, "callbackUri": url}

    answer = await signed_request(emulator, "POST", f"{CALLS}:connect{CA_VERSION}", body)

    assert_invalid(answer, "callbackUri")


@pytest.mark.parametrize("url", BAD_URLS)
async def test_actions_with_an_unparsable_operation_callback_uri_are_400(
    emulator: RunningEmulator, sink: CallbackSink, url: str
) -> None:
    cid = await connected_call(emulator, sink)
    text = {"kind": "text", "text": {"text": "hello"}}
    requests: list[tuple[str, dict[str, Any]]] = [
        (":play", {"playSources": [text]}),
        ("/participants:add", {"participantToAdd": {"rawId": "4:+14255550199"}}),
        (":sendDtmfTones", {"tones": ["one"], "targetParticipant": {"rawId": "4:+14255550199"}}),
    ]
    for action, body in requests:
        body["operationCallbackUri"] = url
        answer = await signed_request(emulator, "POST", f"{CALLS}/{cid}{action}{CA_VERSION}", body)
        assert_invalid(answer, "operationCallbackUri")


@pytest.mark.parametrize("url", BAD_URLS)
async def test_a_play_of_an_unparsable_file_uri_is_400(
    emulator: RunningEmulator, sink: CallbackSink, url: str
) -> None:
    cid = await connected_call(emulator, sink)
    body = {"playSources": [{"kind": "file", "file": {"uri": url}}]}

    answer = await signed_request(emulator, "POST", f"{CALLS}/{cid}:play{CA_VERSION}", body)

    assert_invalid(answer, "playSources[0].file.uri")


@pytest.mark.parametrize("url", BAD_URLS)
async def test_an_event_grid_subscription_to_an_unparsable_endpoint_is_400(
    emulator: RunningEmulator, url: str
) -> None:
    answer = await control(emulator, "POST", "/emulator/eventgrid/subscriptions", {"endpoint": url})

    assert answer.status == 400, answer
    assert answer.body["error"]["target"] == "endpoint"


@pytest.mark.parametrize(
    ("body", "target"),
    [
        # Its default end, 180 days later, would be past year 9999.
        ({"validFrom": "9999-12-01T00:00:00Z"}, "ValidFrom"),
        # In UTC it would be in year 0.
        ({"validFrom": "0001-01-01T00:00:00+01:00"}, "ValidFrom"),
        ({"validUntil": "9999-12-31T23:59:59-01:00"}, "ValidUntil"),
    ],
)
async def test_rooms_dates_beyond_the_calendar_are_400(
    emulator: RunningEmulator, body: dict[str, Any], target: str
) -> None:
    created = await signed_request(emulator, "POST", ROOMS, {})
    assert created.status == 201
    room_path = f"/rooms/{created.body['id']}?api-version=2025-03-13"

    assert_bad_argument(await signed_request(emulator, "POST", ROOMS, body), target)
    patched = await signed_request(
        emulator, "PATCH", room_path, body, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert_bad_argument(patched, target)


async def raw_get(emulator: RunningEmulator, headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    """A GET /rooms with header bytes as given (HTTP clients refuse to send non-ASCII ones)."""
    parts = urlsplit(emulator.url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [b"GET " + ROOMS.encode() + b" HTTP/1.1", b"Host: " + parts.netloc.encode()]
    lines += [name + b": " + value for name, value in headers]
    writer.write(b"\r\n".join([*lines, b"Connection: close", b"", b""]))
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.mark.parametrize(
    ("signature", "body_hash"),
    [
        ("\u00e9".encode("latin-1"), content_hash(b"").encode()),
        ("\u00e9t\u00e9".encode(), content_hash(b"").encode()),
        (b"abc", "\u00e9".encode("latin-1")),
        (b"abc", "\u00e9".encode()),
    ],
)
async def test_non_ascii_signature_or_content_hash_is_denied(
    emulator: RunningEmulator, signature: bytes, body_hash: bytes
) -> None:
    headers = [
        (b"x-ms-date", rfc1123(datetime.now(UTC)).encode()),
        (b"x-ms-content-sha256", body_hash),
        (
            b"Authorization",
            b"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=" + signature,
        ),
    ]

    status, body = await raw_get(emulator, headers)

    assert (status, body["error"]["code"]) == (401, "Denied")
