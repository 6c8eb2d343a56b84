"""Small assertions and shapes shared by the e2e tests."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from bot.testing import CreatedRoom, Reply, RoomBot, eventually
from tests.support.callback_sink import ReceivedPost

PROBLEM_MEMBERS = {"type", "title", "status", "detail"}


@dataclass(frozen=True)
class LiveCall:
    room: CreatedRoom
    # The call as /ops/calls/{id} showed it once connected.
    call: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.call["callConnectionId"])


def assert_problem(reply: Reply, status: int) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with ``status``, and leaks no stack trace."""
    assert reply.status == status, reply.text
    assert reply.content_type == "application/problem+json", reply.headers
    body = reply.body
    assert isinstance(body, dict), reply.text
    assert body.keys() >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert "Traceback" not in reply.text
    assert 'File "' not in reply.text
    return body


def signed_notification(post: ReceivedPost, secret: str) -> dict[str, Any]:
    """The body of a NOTIFY_URL post, after checking its HMAC signature as a backend would."""
    timestamp = post.headers[TIMESTAMP_HEADER]
    expected = signature(secret, timestamp, post.raw)
    assert hmac.compare_digest(post.headers[SIGNATURE_HEADER], expected), "bad NOTIFY_URL signature"
    body = json.loads(post.raw)
    assert isinstance(body, dict)
    return body


def event_ids(call: dict[str, Any]) -> list[str | None]:
    return [event["id"] for event in call["events"]]


def event_types(call: dict[str, Any]) -> list[str]:
    return [event["type"] for event in call["events"]]


def raw_ids(call: dict[str, Any]) -> set[str]:
    return {participant["rawId"] for participant in call["participants"]}


async def end_unheard(roombot: RoomBot, live_call: LiveCall) -> None:
    """End the room's call in the emulator while its callbacks are dropped: ACS no longer knows
    the call, and the bot has not heard. A CallDisconnected posted by the test is then the truth
    (the bot believes one only when ACS agrees the call is gone)."""
    emulator = roombot.emulator.url
    dropped = await roombot.request(
        "PUT", "/emulator/faults", json={"callbacks": {"drop": 1.0}}, base=emulator
    )
    assert dropped.status == 200, dropped.text
    try:
        for member in live_call.room.members:
            await roombot.request(
                "POST",
                f"/emulator/rooms/{live_call.room.id}/participants/{quote(member, safe='')}:leave",
                base=emulator,
            )

        async def gone() -> bool:
            return await roombot.emulator_call(live_call.room.id) is None

        await eventually(gone, what="the room's call to end in the emulator")
    finally:
        await roombot.request("DELETE", "/emulator/faults", base=emulator)
