"""The ACS facade against the real emulator over HTTP: connect, get, participants, terminate,
leave, rooms, and every failure translated into the bot's own errors.

Callbacks land on a small receiver that checks each one's JWT with the bot's CallbackVerifier
against the emulator's published keys, so the callback signing path is covered end to end too.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from azure.communication.rooms import CommunicationUserIdentifier, ParticipantRole, RoomParticipant
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential

from bot.acs import AcsFacade, AcsNotFound, AcsRejected, AcsUnavailable
from bot.acs.retry import RetryPolicy
from bot.auth.callback_jwt import CallbackAuthError, CallbackVerifier
from config import Settings
from emulator.config import DEV_RESOURCE_ID
from emulator.server import RunningEmulator

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
OPENID_PATH = "/calling/.well-known/acsopenidconfiguration"
EVENT_PREFIX = "Microsoft.Communication."
# Generous: events normally arrive in milliseconds at the tests' time scale.
EVENT_TIMEOUT = 10.0
FAST_RETRY = RetryPolicy(max_attempts=3, max_seconds=5, backoff_base=0.01, backoff_max=0.05, jitter=0)


def user_id() -> str:
    return f"8:acs:{DEV_RESOURCE_ID}_{uuid.uuid4()}"


@dataclass
class Receiver:
    """The bot's callback endpoint, reduced to: verify the JWT, keep the events."""

    verifier: CallbackVerifier
    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            await self.verifier.verify(request.headers.get("Authorization"))
        except CallbackAuthError as exc:
            self.refused.append(exc.reason)
            return web.Response(status=401)
        body = await request.json()
        async with self.arrived:
            self.events.extend(body)
            self.arrived.notify_all()
        return web.Response(status=200)

    async def wait_for(self, name: str, call_connection_id: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for event in self.events:
                if (
                    event["type"] == EVENT_PREFIX + name
                    and event["data"]["callConnectionId"] == call_connection_id
                ):
                    return event
            return None

        async with asyncio.timeout(EVENT_TIMEOUT), self.arrived:
            await self.arrived.wait_for(lambda: found() is not None)
        event = found()
        assert event is not None
        return event


@dataclass(frozen=True)
class Room:
    id: str
    doctor: str
    patient: str
    server_call_id: str


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def receiver(
    emulator: RunningEmulator, http: aiohttp.ClientSession, aiohttp_server: ServerFactory
) -> Receiver:
    verifier = CallbackVerifier(emulator.url + OPENID_PATH, emulator.config.resource_id, http)
    callbacks = Receiver(verifier)
    app = web.Application()
    app.router.add_post("/api/callbacks", callbacks.handle)
    server = await aiohttp_server(app)
    callbacks.url = str(server.make_url("/api/callbacks"))
    return callbacks


@pytest.fixture
async def facade(emulator: RunningEmulator) -> AsyncIterator[AcsFacade]:
    acs = AcsFacade.from_connection_string(emulator.connection_string, retry=FAST_RETRY)
    yield acs
    await acs.close()


async def create_room(emulator: RunningEmulator, *, dial_out: bool = True) -> tuple[str, str, str]:
    doctor, patient = user_id(), user_id()
    credential = AzureKeyCredential(emulator.config.access_key)
    async with RoomsClient(emulator.url, credential, retry_total=0) as rooms:
        room = await rooms.create_room(
            participants=[
                RoomParticipant(
                    communication_identifier=CommunicationUserIdentifier(doctor),
                    role=ParticipantRole.PRESENTER,
                ),
                RoomParticipant(
                    communication_identifier=CommunicationUserIdentifier(patient),
                    role=ParticipantRole.ATTENDEE,
                ),
            ],
            pstn_dial_out_enabled=dial_out,
        )
    return str(room.id), doctor, patient


async def control(
    http: aiohttp.ClientSession, emulator: RunningEmulator, method: str, path: str
) -> tuple[int, Any]:
    async with http.request(method, emulator.url + path) as response:
        body = await response.json() if response.content_length else None
        return response.status, body


async def join(http: aiohttp.ClientSession, emulator: RunningEmulator, room_id: str, raw_id: str) -> str:
    status, body = await control(
        http, emulator, "POST", f"/emulator/rooms/{room_id}/participants/{quote(raw_id, safe='')}:join"
    )
    assert status == 200, body
    return str(body["serverCallId"])


@pytest.fixture
async def room(emulator: RunningEmulator, http: aiohttp.ClientSession) -> Room:
    """A room whose doctor and patient are already in its call."""
    room_id, doctor, patient = await create_room(emulator)
    server_call_id = await join(http, emulator, room_id, doctor)
    assert await join(http, emulator, room_id, patient) == server_call_id
    return Room(room_id, doctor, patient, server_call_id)


async def test_room_info_and_roster(facade: AcsFacade, emulator: RunningEmulator) -> None:
    room_id, doctor, patient = await create_room(emulator, dial_out=True)
    info = await facade.get_room(room_id)
    assert info.id == room_id
    assert info.pstn_dial_out_enabled is True
    assert info.valid_from < info.valid_until
    assert info.valid_until.tzinfo is not None
    assert await facade.list_room_participants(room_id) == {doctor: "Presenter", patient: "Attendee"}


async def test_an_unknown_room_is_not_found(facade: AcsFacade) -> None:
    with pytest.raises(AcsNotFound) as missing:
        await facade.get_room("99999999999999999")
    assert missing.value.status == 404
    with pytest.raises(AcsNotFound):
        await facade.list_room_participants("99999999999999999")


async def test_a_malformed_room_id_is_a_room_not_found(facade: AcsFacade, receiver: Receiver) -> None:
    # ACS answers 400 "Invalid room ID length." for an id no room can have.
    with pytest.raises(AcsNotFound) as malformed:
        await facade.get_room("99999999999")
    assert malformed.value.status == 400
    with pytest.raises(AcsNotFound):
        await facade.connect_room("12345", receiver.url)


async def test_connect_get_list_and_terminate(
    facade: AcsFacade,
    emulator: RunningEmulator,
    http: aiohttp.ClientSession,
    receiver: Receiver,
    room: Room,
) -> None:
    call = await facade.connect_room(room.id, receiver.url, operation_context="test:connect")
    assert call.state == "connecting"
    # ACS's connect answer has no server call id: it comes with CallConnected and get call.
    assert call.server_call_id is None
    assert call.callback_url == receiver.url

    connected = await receiver.wait_for("CallConnected", call.call_connection_id)
    assert connected["data"]["operationContext"] == "test:connect"
    assert connected["data"]["serverCallId"] == room.server_call_id
    later = await facade.get_call(call.call_connection_id)
    assert (later.state, later.server_call_id) == ("connected", room.server_call_id)

    participants = {p.raw_id: p for p in await facade.list_participants(call.call_connection_id)}
    assert set(participants) == {room.doctor, room.patient}
    assert all(p.kind == "communicationUser" and not p.is_muted for p in participants.values())

    await facade.terminate(call.call_connection_id)
    await receiver.wait_for("CallDisconnected", call.call_connection_id)
    status, _ = await control(http, emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert status == 404
    with pytest.raises(AcsNotFound) as gone:
        await facade.get_call(call.call_connection_id)
    assert gone.value.code == "8522"
    assert receiver.refused == []

    _, requests = await control(http, emulator, "GET", "/emulator/requests")
    terminates = [r for r in requests if r["path"].endswith(":terminate")]
    assert len(terminates) == 1
    assert terminates[0]["repeatabilityRequestId"]


async def test_leave_keeps_the_call_for_everyone_else(
    facade: AcsFacade,
    emulator: RunningEmulator,
    http: aiohttp.ClientSession,
    receiver: Receiver,
    room: Room,
) -> None:
    call = await facade.connect_room(room.id, receiver.url)
    await receiver.wait_for("CallConnected", call.call_connection_id)
    await facade.leave(call.call_connection_id)
    await receiver.wait_for("CallDisconnected", call.call_connection_id)
    status, view = await control(http, emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert status == 200
    assert {p["rawId"] for p in view["participants"]} == {room.doctor, room.patient}
    with pytest.raises(AcsNotFound):
        await facade.get_call(call.call_connection_id)


async def test_connecting_to_an_unknown_room_is_not_found(facade: AcsFacade, receiver: Receiver) -> None:
    with pytest.raises(AcsNotFound) as missing:
        await facade.connect_room("99999999999999999", receiver.url)
    assert missing.value.code == "8522"


@pytest.mark.parametrize("action", ["get_call", "list_participants", "terminate", "leave"])
async def test_an_unknown_call_is_not_found(facade: AcsFacade, action: str) -> None:
    with pytest.raises(AcsNotFound) as missing:
        await getattr(facade, action)(str(uuid.uuid4()))
    assert missing.value.status == 404


async def test_an_invalid_callback_url_is_rejected_not_retried(
    facade: AcsFacade, emulator: RunningEmulator, http: aiohttp.ClientSession, room: Room
) -> None:
    with pytest.raises(AcsRejected) as rejected:
        await facade.connect_room(room.id, "not-a-url")
    assert rejected.value.status == 400
    assert rejected.value.code == "8523"
    _, requests = await control(http, emulator, "GET", "/emulator/requests")
    assert len([r for r in requests if r["path"].endswith(":connect")]) == 1


async def test_a_wrong_access_key_is_rejected(emulator: RunningEmulator) -> None:
    wrong_key = base64.b64encode(b"not the emulator's access key, sorry").decode()
    acs = AcsFacade(emulator.url, wrong_key, retry=FAST_RETRY)
    try:
        with pytest.raises(AcsRejected) as rejected:
            await acs.get_room("1")
        assert rejected.value.status == 401
        with pytest.raises(AcsRejected):
            await acs.ping()
        # Call Automation's own answer, PascalCase keys that azure-core does not read, is read.
        with pytest.raises(AcsRejected) as refused:
            await acs.get_call(str(uuid.uuid4()))
        assert (refused.value.status, refused.value.code) == (401, "7509")
        assert "HMAC-SHA256 validation failed" in str(refused.value)
    finally:
        await acs.close()


async def test_an_unreachable_acs_is_unavailable() -> None:
    key = base64.b64encode(b"any key will do for a closed port").decode()
    acs = AcsFacade("http://127.0.0.1:9", key, retry=FAST_RETRY)
    try:
        with pytest.raises(AcsUnavailable):
            await acs.get_call(str(uuid.uuid4()))
        with pytest.raises(AcsUnavailable):
            await acs.ping()
    finally:
        await acs.close()


async def test_ping_and_from_settings(emulator: RunningEmulator) -> None:
    settings = Settings(
        _env_file=None, acs_connection_string=emulator.connection_string, retry_max_attempts=2
    )
    acs = AcsFacade.from_settings(settings)
    try:
        assert acs.endpoint == emulator.url
        assert acs.retry.max_attempts == 2
        await acs.ping()
    finally:
        await acs.close()


def test_from_settings_needs_a_connection_string() -> None:
    with pytest.raises(ValueError, match="ROOMBOT_ACS_CONNECTION_STRING"):
        AcsFacade.from_settings(Settings(_env_file=None))
