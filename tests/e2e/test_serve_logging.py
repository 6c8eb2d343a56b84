"""`roombot serve` with ROOMBOT_LOG_FORMAT=json: every line on stderr is a JSON object, and every
line about the call names its call connection id and room id."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms import CommunicationUserIdentifier, ParticipantRole, RoomParticipant
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential

from emulator.config import DEV_ACCESS_KEY
from tests.e2e.test_serve_cli import roombot_serve, wait_for_connected
from tests.support.cli_process import clean_env


async def post(session: aiohttp.ClientSession, url: str, key: str | None = None, **kwargs: Any) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with session.post(url, headers=headers, **kwargs) as response:
        return response.status


async def test_json_lines_name_the_call_and_room(tmp_path: Path) -> None:
    env = clean_env(ROOMBOT_LOG_FORMAT="json", ROOMBOT_LOG_LEVEL="DEBUG", ROOMBOT_STATE_URL="memory://")
    async with roombot_serve(tmp_path, "--port", "0", "--emulator-port", "0", env=env) as served:
        emulator_url, bot_url = served.value("emulator"), served.bot_url
        backend, ops = served.value("backend API key"), served.value("ops API key")
        credential = AzureKeyCredential(DEV_ACCESS_KEY)
        async with (
            aiohttp.ClientSession() as session,
            CommunicationIdentityClient(emulator_url, credential, retry_total=0) as identity,
            RoomsClient(emulator_url, credential, retry_total=0) as rooms,
        ):
            user = await identity.create_user()
            member = RoomParticipant(
                communication_identifier=CommunicationUserIdentifier(user.raw_id),
                role=ParticipantRole.PRESENTER,
            )
            room = await rooms.create_room(participants=[member])
            raw_id = quote(user.raw_id, safe="")
            assert (
                await post(session, f"{emulator_url}/emulator/rooms/{room.id}/participants/{raw_id}:join")
                == 200
            )
            assert await post(session, f"{bot_url}/api/rooms/{room.id}/connect", backend) == 202
            call = await wait_for_connected(session, bot_url, ops, room.id, user.raw_id)
            announcement = {"text": "Hello.", "to": "everyone"}
            assert (
                await post(
                    session, f"{bot_url}/api/rooms/{room.id}/announcements", backend, json=announcement
                )
                == 202
            )
            assert await post(session, f"{bot_url}/ops/rooms/{room.id}/end", ops) == 202
        assert await served.stop(signal.SIGTERM) == 0

    lines = [json.loads(line) for line in served.stderr]  # every line is one JSON object
    call_id = call["callConnectionId"]
    about_call = [line for line in lines if call_id in line["message"]]
    about_room = [line for line in lines if str(room.id) in line["message"]]
    assert len(about_call) >= 2, lines
    assert len(about_room) >= 3, lines
    untagged = [
        (line["logger"], line["message"]) for line in about_call if line.get("callConnectionId") != call_id
    ]
    assert untagged == []
    assert all(line.get("roomId") == str(room.id) for line in about_room), about_room
