"""Text-to-speech needs Azure AI services: the bot names its endpoint on every connect
(`callIntelligenceOptions.cognitiveServicesEndpoint`), and on a connection without one the
emulator refuses text and SSML as ACS does, which the bot reports; audio files need none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.handlers import HandlerFactory
from bot.testing import BACKEND_KEY, RoomBot, eventually
from emulator.config import DEV_COGNITIVE_SERVICES_ENDPOINT
from handlers.announcements.handler import AnnouncementsHandler
from tests.conformance.media_helpers import file_server, wav_bytes

FACTORIES: dict[str, HandlerFactory] = {"announcements": AnnouncementsHandler}
FINAL = ("completed", "failed", "cancelled")


async def connected_room(roombot: RoomBot) -> str:
    room = await roombot.create_room(["Presenter", "Attendee"])
    await roombot.join(room.id, room.members[0])
    await roombot.connect(room.id)
    return room.id


async def announced(roombot: RoomBot, room_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST the announcement and wait for its final status."""
    reply = await roombot.request(
        "POST", f"/api/rooms/{room_id}/announcements", key=BACKEND_KEY, json={"to": "everyone", **body}
    )
    assert reply.status == 202, reply.text
    path = f"/api/announcements/{reply.body['id']}"

    async def final() -> dict[str, Any] | None:
        current = await roombot.request("GET", path, key=BACKEND_KEY)
        return current.body if current.body["status"] in FINAL else None

    return await eventually(final, what=f"announcement {reply.body['id']} to finish")


async def connect_requests(roombot: RoomBot) -> list[dict[str, Any]]:
    reply = await roombot.request("GET", "/emulator/requests", base=roombot.emulator.url)
    return [entry for entry in reply.body if entry["path"].endswith(":connect")]


@pytest.fixture
async def without_ai_services() -> AsyncIterator[RoomBot]:
    """A bot whose settings name no AI services endpoint (it loads no handler with text prompts)."""
    async with RoomBot.start(handler_factories=FACTORIES, cognitive_services_endpoint=None) as roombot:
        yield roombot


async def test_every_connect_names_the_configured_endpoint(roombot: RoomBot) -> None:
    await connected_room(roombot)
    await connected_room(roombot)

    connects = await connect_requests(roombot)
    assert len(connects) == 2
    assert [c["body"]["callIntelligenceOptions"] for c in connects] == [
        {"cognitiveServicesEndpoint": DEV_COGNITIVE_SERVICES_ENDPOINT}
    ] * 2


async def test_with_the_endpoint_a_text_announcement_is_spoken(roombot: RoomBot) -> None:
    room_id = await connected_room(roombot)

    done = await announced(roombot, room_id, {"text": "Welcome."})

    assert done["status"] == "completed", done


@pytest.mark.parametrize(
    "prompt", [{"text": "Welcome."}, {"ssml": "<speak>Welcome.</speak>"}], ids=["text", "ssml"]
)
async def test_without_the_endpoint_a_spoken_announcement_fails_as_acs_refuses_it(
    without_ai_services: RoomBot, prompt: dict[str, str]
) -> None:
    roombot = without_ai_services
    room_id = await connected_room(roombot)
    assert "callIntelligenceOptions" not in (await connect_requests(roombot))[0]["body"]

    done = await announced(roombot, room_id, prompt)

    assert done["status"] == "failed", done
    assert (done["resultCode"], done["resultSubCode"]) == (405, 8522)
    assert "Cognitive Service Configuration not set" in done["resultMessage"]
    call = await roombot.emulator_call(room_id)
    assert call is not None
    assert call["media"] == [], "a refused play never starts"


async def test_without_the_endpoint_an_audio_file_announcement_plays(without_ai_services: RoomBot) -> None:
    roombot = without_ai_services
    room_id = await connected_room(roombot)

    async with file_server({"/hello.wav": wav_bytes(0.5)}) as files:
        done = await announced(roombot, room_id, {"audioUrl": f"{files}/hello.wav"})

    assert done["status"] == "completed", done
