"""Every bad request gets an `application/problem+json` answer without a stack trace, and loses
nothing: the live call and its history are as they were, and good requests still work."""

from __future__ import annotations

from typing import Any

import pytest

from bot.testing import BACKEND_KEY, OPS_KEY, RoomBot, cloud_event
from tests.e2e.helpers import LiveCall, assert_problem, end_unheard

SMALL_BODY_LIMIT = 4096


def call_disconnected(live_call: LiveCall) -> dict[str, Any]:
    return cloud_event(live_call.id, "CallDisconnected", {"serverCallId": live_call.call["serverCallId"]})


async def assert_untouched(roombot: RoomBot, live_call: LiveCall, before: dict[str, Any] | None) -> None:
    assert await roombot.call(live_call.id) == before
    await roombot.settle(live_call.id)
    assert [call["state"] for call in await roombot.calls()] == ["connected"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[{not json", "malformed JSON"),
        (b"", "empty body"),
        (b'{"id": "1", "type": "Microsoft.Communication.CallDisconnected", "data": {}}', "an object"),
        (b'"CallDisconnected"', "a string"),
        (b'[{"id": 5, "type": "Microsoft.Communication.PlayStarted", "data": {}}]', "numeric id"),
        (b'[{"id": "1", "type": "Microsoft.Communication.PlayStarted", "data": []}]', "data not an object"),
        (b'[{"id": "1", "type": "Microsoft.Communication.ParticipantsUpdated", '
         b'"data": {"sequenceNumber": "third"}}]', "sequence not a number"),
        (b"[42]", "element not an object"),
        (b"\xff\xfe[]", "not UTF-8"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)  # fmt: skip
async def test_a_malformed_callback_is_400(
    live_call: LiveCall, roombot: RoomBot, body: bytes, reason: str
) -> None:
    before = await roombot.call(live_call.id)

    reply = await roombot.request(
        "POST",
        "/api/callbacks",
        data=body,
        key=roombot.callback_token(),
        headers={"Content-Type": "application/json"},
    )

    assert_problem(reply, 400)
    await assert_untouched(roombot, live_call, before)


async def test_an_array_with_one_bad_event_is_refused_whole(live_call: LiveCall, roombot: RoomBot) -> None:
    good = call_disconnected(live_call)
    bad = {"id": "bad-1", "type": "Microsoft.Communication.PlayStarted", "data": "nope"}
    before = await roombot.call(live_call.id)

    reply = await roombot.post_callbacks([good, bad])

    assert "event 1" in assert_problem(reply, 400)["detail"]
    await assert_untouched(roombot, live_call, before)
    # Nothing of the refused array was marked as seen: its good event, resent alone, is handled.
    await end_unheard(roombot, live_call)
    assert (await roombot.post_callbacks([good])).body == {"received": 1, "accepted": 1}
    await roombot.wait_for_calls(lambda calls: calls == [])


@pytest.mark.parametrize("roombot_settings_overrides", [{"max_body_bytes": SMALL_BODY_LIMIT}], ids=["small"])
async def test_a_body_over_the_limit_is_413(live_call: LiveCall, roombot: RoomBot) -> None:
    padded = cloud_event(
        live_call.id, "PlayStarted", {"operationContext": "nobody:" + "x" * SMALL_BODY_LIMIT}
    )
    before = await roombot.call(live_call.id)

    reply = await roombot.post_callbacks([padded])

    assert_problem(reply, 413)
    await assert_untouched(roombot, live_call, before)


@pytest.mark.parametrize(
    ("method", "path", "key", "status"),
    [
        ("POST", "/api/rooms/not-a-room/connect", BACKEND_KEY, 404),
        ("POST", "/api/rooms/12%2F34/connect", BACKEND_KEY, 404),
        ("POST", "/ops/rooms/not-a-room/end", OPS_KEY, 404),
        ("GET", "/ops/calls/no-such-call", OPS_KEY, 404),
        ("POST", "/api/rooms/12345/connect", None, 401),
        ("GET", "/ops/calls", None, 401),
        ("GET", "/ops/calls", "a-key-nobody-configured", 401),
        ("POST", "/api/rooms/12345/connect", "a-key-nobody-configured", 401),
        ("GET", "/ops/calls", BACKEND_KEY, 403),
        ("POST", "/ops/rooms/12345/end", BACKEND_KEY, 403),
        ("POST", "/api/rooms/12345/connect", OPS_KEY, 403),
        ("GET", "/api/nothing-here", BACKEND_KEY, 404),
        ("GET", "/favicon.ico", None, 404),
        ("GET", "/api/callbacks", None, 405),
        ("DELETE", "/ops/calls", OPS_KEY, 405),
        ("PUT", "/api/rooms/12345/connect", BACKEND_KEY, 405),
    ],
)
async def test_a_bad_request_gets_a_problem(
    live_call: LiveCall, roombot: RoomBot, method: str, path: str, key: str | None, status: int
) -> None:
    before = await roombot.call(live_call.id)

    reply = await roombot.request(method, path, key=key)

    assert_problem(reply, status)
    if status == 401:
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 405:
        assert reply.headers["Allow"]
    await assert_untouched(roombot, live_call, before)


async def test_a_malformed_authorization_header_is_401(roombot: RoomBot) -> None:
    reply = await roombot.request("GET", "/ops/calls", headers={"Authorization": f"Token {OPS_KEY}"})

    assert_problem(reply, 401)


@pytest.mark.parametrize(
    "body", [b"{oops", b'[{"no": "eventType"}]', b"42"], ids=["not-json", "no-event-type", "a-number"]
)
async def test_a_malformed_eventgrid_body_is_400(live_call: LiveCall, roombot: RoomBot, body: bytes) -> None:
    before = await roombot.call(live_call.id)

    reply = await roombot.request(
        "POST", "/api/eventgrid", data=body, headers={"Content-Type": "application/json"}
    )

    assert_problem(reply, 400)
    await assert_untouched(roombot, live_call, before)
