"""Shared pieces of the dial-out e2e tests: a NOTIFY_URL receiver that checks signatures, a bot
wired to it, a room whose call the bot is in, and the emulator's view of invitations."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.testing import BACKEND_KEY, CreatedRoom, Reply, RoomBot, eventually
from emulator.config import EmulatorConfig
from tests.e2e.helpers import signed_notification
from tests.support.callback_sink import CallbackSink, ReceivedPost

NOTIFY_SECRET = "dialout-e2e-notify-secret"
CALLER_ID = "+14255550100"
INTERPRETER = "+14255550123"
# Slower than the harness default: a scripted key press must land while the bot's confirmation
# menu listens, and the bot's own work (callbacks, commands) takes real, unscaled time.
TIME_SCALE = 0.05
FINAL = ("confirmed", "declined", "failed", "cancelled")


def verified(post: ReceivedPost) -> dict[str, Any]:
    return signed_notification(post, NOTIFY_SECRET)


@dataclass
class DialOutBed:
    """A bot (every installed handler) wired to an emulator and a NOTIFY_URL receiver."""

    roombot: RoomBot
    notify: CallbackSink

    async def room(self, *, pstn: bool = True) -> CreatedRoom:
        """A room (Presenter, Attendee) whose Presenter is in the call, the bot connected."""
        room = await self.roombot.create_room(["Presenter", "Attendee"], pstn_dial_out_enabled=pstn)
        await self.roombot.join(room.id, room.members[0])
        await self.roombot.connect(room.id)
        return room

    async def phone(self, number: str, **behaviour: Any) -> None:
        reply = await self.emulator("PUT", f"/emulator/phones/{number}", json=behaviour)
        assert reply.status == 200, reply.text

    async def emulator(self, method: str, path: str, *, json: Any = None) -> Reply:
        return await self.roombot.request(method, path, json=json, base=self.roombot.emulator.url)

    async def dial(
        self, room_id: str, body: Mapping[str, Any], *, key: str | None = None, api_key: str = BACKEND_KEY
    ) -> Reply:
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return await self.roombot.request(
            "POST", f"/api/rooms/{room_id}/dialouts", key=api_key, json=dict(body), headers=headers
        )

    async def get(self, dialout_id: str) -> Reply:
        return await self.roombot.request("GET", f"/api/dialouts/{dialout_id}", key=BACKEND_KEY)

    async def cancel(self, dialout_id: str) -> Reply:
        return await self.roombot.request("DELETE", f"/api/dialouts/{dialout_id}", key=BACKEND_KEY)

    async def wait_status(self, dialout_id: str, *statuses: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            reply = await self.get(dialout_id)
            assert reply.status == 200, reply.text
            return reply.body if reply.body["status"] in statuses else None

        return await eventually(probe, what=f"dial-out {dialout_id} to become {'/'.join(statuses)}")

    async def invitations(self, room_id: str) -> list[dict[str, Any]]:
        reply = await self.emulator("GET", f"/emulator/invitations?roomId={room_id}")
        assert reply.status == 200, reply.text
        return list(reply.body)

    async def add_requests(self) -> list[dict[str, Any]]:
        """The ``participants:add`` requests the emulator received."""
        reply = await self.emulator("GET", "/emulator/requests")
        return [entry for entry in reply.body if entry["path"].endswith("/participants:add")]

    async def call_raw_ids(self, room_id: str) -> set[str]:
        call = await self.roombot.emulator_call(room_id)
        return {p["rawId"] for p in call["participants"]} if call else set()

    def notifications(self, dialout_id: str) -> list[dict[str, Any]]:
        """The verified NOTIFY_URL posts about one dial-out."""
        bodies = [verified(post) for post in self.notify.posts_to("/notify")]
        return [body for body in bodies if body.get("id") == dialout_id]

    async def notified(self, dialout_id: str, event: str) -> dict[str, Any]:
        """Wait for the outcome post of a dial-out, then check it is its only one."""
        await self.notify.wait_for(lambda sink: self.notifications(dialout_id))
        # A second post would come right after the first: let the bot's queue drain first.
        await self.roombot.settle(str(self.notifications(dialout_id)[0]["callConnectionId"]))
        posts = self.notifications(dialout_id)
        assert [post["event"] for post in posts] == [event], posts
        return posts[0]


@asynccontextmanager
async def dialout_bed(
    *, state_url: str = "memory://", handler_config: Mapping[str, Any] | None = None, **settings: Any
) -> AsyncIterator[DialOutBed]:
    async with CallbackSink() as sink:
        values: dict[str, Any] = {
            "state_url": state_url,
            "notify_url": sink.url("/notify"),
            "notify_secret": NOTIFY_SECRET,
            "pstn_caller_id": CALLER_ID,
            "handlers": {"dialout": dict(handler_config or {})},
            **settings,
        }
        async with RoomBot.start(EmulatorConfig(time_scale=TIME_SCALE), **values) as roombot:
            yield DialOutBed(roombot, sink)
