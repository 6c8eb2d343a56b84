"""Shared pieces of the recording e2e tests: a bot with the ``recording`` handler, subscribed to
the emulator's Event Grid and wired to a NOTIFY_URL receiver, and the views a test reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.testing import BACKEND_KEY, OPS_KEY, CreatedRoom, Reply, RoomBot, eventually
from emulator.config import EmulatorConfig
from tests.e2e.helpers import signed_notification
from tests.support.callback_sink import CallbackSink

NOTIFY_SECRET = "recording-e2e-notify-secret"
CONSENT = "This call is recorded for your care team."
# As the dial-out tests: prompts must play in simulated time while the bot works in real time.
TIME_SCALE = 0.05


@dataclass
class RecordingBed:
    roombot: RoomBot
    notify: CallbackSink

    async def room(self, *, join: bool = True) -> CreatedRoom:
        room = await self.roombot.create_room(["Presenter", "Attendee"])
        if join:
            await self.roombot.join(room.id, room.members[0])
        return room

    async def api(self, method: str, path: str) -> Reply:
        return await self.roombot.request(
            method, path, key=OPS_KEY if path.startswith("/ops") else BACKEND_KEY
        )

    async def recording(self, call_connection_id: str) -> dict[str, Any] | None:
        reply = await self.api("GET", f"/ops/calls/{call_connection_id}/recording")
        return reply.body if reply.status == 200 else None

    async def wait_recording(self, call_connection_id: str, *statuses: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.recording(call_connection_id)
            return found if found is not None and found["status"] in statuses else None

        return await eventually(
            probe, what=f"the recording of {call_connection_id} to be {'/'.join(statuses)}"
        )

    def notifications(self, event: str | None = None) -> list[dict[str, Any]]:
        bodies = [signed_notification(post, NOTIFY_SECRET) for post in self.notify.posts_to("/notify")]
        return [body for body in bodies if event is None or body["event"] == event]

    async def file_ready(self, call_connection_id: str) -> dict[str, Any]:
        """Wait for ``recording.fileReady`` of the call, then check it is the only one."""
        await self.notify.wait_for(lambda sink: self.notifications("recording.fileReady"))
        await self.roombot.settle(call_connection_id)
        posts = [
            p
            for p in self.notifications("recording.fileReady")
            if p["callConnectionId"] == call_connection_id
        ]
        assert len(posts) == 1, posts
        return posts[0]

    async def emulator_requests(self) -> list[dict[str, Any]]:
        reply = await self.roombot.request("GET", "/emulator/requests", base=self.roombot.emulator.url)
        assert reply.status == 200, reply.text
        return list(reply.body)


@asynccontextmanager
async def recording_bed(
    *, handler_config: Mapping[str, Any] | None = None, **settings: Any
) -> AsyncIterator[RecordingBed]:
    async with CallbackSink() as sink:
        values: dict[str, Any] = {
            "notify_url": sink.url("/notify"),
            "notify_secret": NOTIFY_SECRET,
            "handlers": {"recording": {"consent": CONSENT, **dict(handler_config or {})}},
            **settings,
        }
        async with RoomBot.start(EmulatorConfig(time_scale=TIME_SCALE), **values) as roombot:
            reply = await roombot.request(
                "POST",
                "/emulator/eventgrid/subscriptions",
                json={"endpoint": f"{roombot.url}/api/eventgrid"},
                base=roombot.emulator.url,
            )
            assert reply.status == 201, reply.text
            yield RecordingBed(roombot, sink)
