"""Helpers for the Call Automation conformance tests.

- rooms put straight into the emulator's store, and joins/leaves through the control API;
- the official Call Automation client, sync or async, behind one awaitable surface (the sync
  client runs in a worker thread: it blocks, and the emulator serves on the test's event loop);
- the checks every received callback must pass: its JWT verifies against the keys the emulator
  publishes, and each event parses with the SDK's CloudEvent parser and round-trips through the
  SDK's generated event models.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

import aiohttp
import jwt
from azure.communication.callautomation import (
    CallAutomationClient,
    CallConnectionProperties,
    CallParticipant,
)
from azure.communication.callautomation._generated import models as generated
from azure.communication.callautomation._shared.models import identifier_from_raw_id
from azure.communication.callautomation.aio import CallAutomationClient as AsyncCallAutomationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.messaging import CloudEvent

from emulator.keys import CALLBACKS, EVENT_GRID, IDENTITIES, ROOMS
from emulator.rooms.model import Room
from emulator.server import RunningEmulator
from tests.support.callback_sink import CallbackSink, ReceivedPost

T = TypeVar("T")
ClientKind = Literal["sync", "async"]
EVENT_PREFIX = "Microsoft.Communication."

# The SDK's generated models for the callbacks a room call produces.
EVENT_MODELS: dict[str, type[Any]] = {
    "CallConnected": generated.CallConnected,
    "ConnectFailed": generated.ConnectFailed,
    "ParticipantsUpdated": generated.ParticipantsUpdated,
    "CallDisconnected": generated.CallDisconnected,
    "AddParticipantSucceeded": generated.AddParticipantSucceeded,
    "AddParticipantFailed": generated.AddParticipantFailed,
    "RemoveParticipantSucceeded": generated.RemoveParticipantSucceeded,
    "RemoveParticipantFailed": generated.RemoveParticipantFailed,
    "CancelAddParticipantSucceeded": generated.CancelAddParticipantSucceeded,
    "CancelAddParticipantFailed": generated.CancelAddParticipantFailed,
    "PlayStarted": generated.PlayStarted,
    "PlayCompleted": generated.PlayCompleted,
    "PlayFailed": generated.PlayFailed,
    "PlayCanceled": generated.PlayCanceled,
    "RecognizeCompleted": generated.RecognizeCompleted,
    "RecognizeFailed": generated.RecognizeFailed,
    "RecognizeCanceled": generated.RecognizeCanceled,
    "ContinuousDtmfRecognitionToneReceived": generated.ContinuousDtmfRecognitionToneReceived,
    "ContinuousDtmfRecognitionToneFailed": generated.ContinuousDtmfRecognitionToneFailed,
    "ContinuousDtmfRecognitionStopped": generated.ContinuousDtmfRecognitionStopped,
    "SendDtmfTonesCompleted": generated.SendDtmfTonesCompleted,
    "SendDtmfTonesFailed": generated.SendDtmfTonesFailed,
    "HoldFailed": generated.HoldFailed,
    "RecordingStateChanged": generated.RecordingStateChanged,
}


@dataclass(frozen=True)
class RoomSetup:
    id: str
    members: list[str]


def add_room(
    emulator: RunningEmulator,
    roles: Sequence[str] = ("Presenter", "Attendee"),
    *,
    opens_in: timedelta = timedelta(minutes=-5),
    open_for: timedelta = timedelta(hours=1),
) -> RoomSetup:
    """A room with one new user per role, open from now + ``opens_in`` for ``open_for``."""
    store = emulator.app[ROOMS]
    now = datetime.now(UTC)
    members = [emulator.app[IDENTITIES].create() for _ in roles]
    room = Room(
        id=store.new_id(),
        created_at=now,
        valid_from=now + opens_in,
        valid_until=now + opens_in + open_for,
        participants=dict(zip(members, roles, strict=True)),
    )
    store.add(room)
    return RoomSetup(room.id, members)


async def settle(emulator: RunningEmulator, within: float = 10.0) -> None:
    """Wait until every callback and Event Grid event sent so far has been delivered."""
    async with asyncio.timeout(within):
        await asyncio.gather(emulator.app[CALLBACKS].drain(), emulator.app[EVENT_GRID].drain())


@asynccontextmanager
async def receiver(emulator: RunningEmulator) -> AsyncIterator[CallbackSink]:
    """A callback sink that lets the emulator finish what it is sending before it closes: a
    receiver shut down in the middle of a POST would leave that connection's socket behind."""
    async with CallbackSink() as sink:
        try:
            yield sink
        finally:
            await settle(emulator)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


async def control(emulator: RunningEmulator, method: str, path: str, body: Any = None) -> Answer:
    """One request to the emulator's control API (``path`` is sent as given, encoded or not)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, emulator.url + path, json=body) as response,
    ):
        text = await response.text()
        return Answer(response.status, json.loads(text) if text else None, dict(response.headers))


async def join(emulator: RunningEmulator, room_id: str, raw_id: str) -> str:
    answer = await control(emulator, "POST", f"/emulator/rooms/{room_id}/participants/{raw_id}:join")
    assert answer.status == 200, answer
    server_call_id: str = answer.body["serverCallId"]
    return server_call_id


async def leave(emulator: RunningEmulator, room_id: str, raw_id: str) -> None:
    answer = await control(emulator, "POST", f"/emulator/rooms/{room_id}/participants/{raw_id}:leave")
    assert answer.status == 204, answer


class CallAutomationApi(Protocol):
    kind: ClientKind

    async def connect(self, callback_url: str, **kwargs: Any) -> CallConnectionProperties: ...
    async def get_call_properties(self, call_connection_id: str) -> CallConnectionProperties: ...
    async def list_participants(self, call_connection_id: str, **kwargs: Any) -> list[CallParticipant]: ...
    async def get_participant(self, call_connection_id: str, raw_id: str) -> CallParticipant: ...
    async def hang_up(self, call_connection_id: str, *, is_for_everyone: bool) -> None: ...


class SyncCallAutomation:
    kind: ClientKind = "sync"

    def __init__(self, client: CallAutomationClient) -> None:
        self.client = client

    async def _call(self, function: Callable[[], T]) -> T:
        return await asyncio.to_thread(function)

    async def connect(self, callback_url: str, **kwargs: Any) -> CallConnectionProperties:
        return await self._call(lambda: self.client.connect_call(callback_url, **kwargs))

    async def get_call_properties(self, call_connection_id: str) -> CallConnectionProperties:
        connection = self.client.get_call_connection(call_connection_id)
        return await self._call(connection.get_call_properties)

    async def list_participants(self, call_connection_id: str, **kwargs: Any) -> list[CallParticipant]:
        connection = self.client.get_call_connection(call_connection_id)
        return await self._call(lambda: list(connection.list_participants(**kwargs)))

    async def get_participant(self, call_connection_id: str, raw_id: str) -> CallParticipant:
        connection = self.client.get_call_connection(call_connection_id)
        return await self._call(lambda: connection.get_participant(identifier_from_raw_id(raw_id)))

    async def hang_up(self, call_connection_id: str, *, is_for_everyone: bool) -> None:
        connection = self.client.get_call_connection(call_connection_id)
        await self._call(lambda: connection.hang_up(is_for_everyone=is_for_everyone))


class AsyncCallAutomation:
    kind: ClientKind = "async"

    def __init__(self, client: AsyncCallAutomationClient) -> None:
        self.client = client

    async def connect(self, callback_url: str, **kwargs: Any) -> CallConnectionProperties:
        return await self.client.connect_call(callback_url, **kwargs)

    async def get_call_properties(self, call_connection_id: str) -> CallConnectionProperties:
        return await self.client.get_call_connection(call_connection_id).get_call_properties()

    async def list_participants(self, call_connection_id: str, **kwargs: Any) -> list[CallParticipant]:
        pages = self.client.get_call_connection(call_connection_id).list_participants(**kwargs)
        return [p async for p in pages]

    async def get_participant(self, call_connection_id: str, raw_id: str) -> CallParticipant:
        connection = self.client.get_call_connection(call_connection_id)
        return await connection.get_participant(identifier_from_raw_id(raw_id))

    async def hang_up(self, call_connection_id: str, *, is_for_everyone: bool) -> None:
        await self.client.get_call_connection(call_connection_id).hang_up(is_for_everyone=is_for_everyone)


@asynccontextmanager
async def open_call_automation(
    emulator: RunningEmulator, kind: ClientKind, **client_kwargs: Any
) -> AsyncIterator[CallAutomationApi]:
    """The official client built from parts over plain http, without azure-core retries."""
    credential = AzureKeyCredential(emulator.config.access_key)
    if kind == "sync":
        with CallAutomationClient(emulator.url, credential, retry_total=0, **client_kwargs) as client:
            yield SyncCallAutomation(client)
    else:
        async with AsyncCallAutomationClient(
            emulator.url, credential, retry_total=0, **client_kwargs
        ) as client:
            yield AsyncCallAutomation(client)


@dataclass(frozen=True)
class CallbackKeys:
    """What a receiver learns from the emulator's OpenID configuration."""

    issuer: str
    keys: jwt.PyJWKSet

    @classmethod
    async def fetch(cls, emulator: RunningEmulator) -> CallbackKeys:
        async with aiohttp.ClientSession() as session:
            url = emulator.url + "/calling/.well-known/acsopenidconfiguration"
            async with session.get(url) as response:
                assert response.status == 200
                configuration = await response.json()
            async with session.get(configuration["jwks_uri"]) as response:
                assert response.status == 200
                jwks = await response.json()
        return cls(configuration["issuer"], jwt.PyJWKSet.from_dict(jwks))

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The claims of a callback's bearer token; raises a jwt error if it does not verify."""
        assert authorization is not None
        assert authorization.startswith("Bearer "), authorization
        token = authorization.removeprefix("Bearer ")
        key = self.keys[jwt.get_unverified_header(token)["kid"]]
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=self.issuer,
            options={"require": ["iss", "aud", "exp", "iat", "nbf"]},
        )
        return claims


# What real ACS puts in every event's data besides the SDK models' fields (recorded live
# traffic): the Python SDK's generated models do not declare them. ``version`` is the
# api-version the app's client speaks (the SDK's default).
RECORDED_EXTRA_FIELDS = {"version": "2026-03-12"}
# Per event, more of them: a RecordingStateChanged names its source in its data too.
RECORDED_EXTRA_DATA = {"RecordingStateChanged": ("eventSource",)}
# Date-times the service writes with an offset and up to seven digits, which the SDK's
# serializer writes back in a form of its own: compared as times.
DATE_TIME_FIELDS = ("startDateTime",)


def _without_nulls(value: Any) -> Any:
    """The SDK's serializer leaves out null fields; ACS sends some (recognizedPhrase)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def parse_callback_event(event: dict[str, Any]) -> tuple[str, Any]:
    """Parse one callback with the SDK's CloudEvent parser and its generated event model; the
    model must give back exactly the data it was given (no field unknown to the SDK) apart from
    ``version`` and ``publicEventType``, which every real event carries."""
    cloud_event: CloudEvent[Any] = CloudEvent.from_dict(event)
    assert cloud_event.specversion == "1.0"
    assert cloud_event.datacontenttype == "application/json"
    assert cloud_event.type.startswith(EVENT_PREFIX)
    name = cloud_event.type.removeprefix(EVENT_PREFIX)
    assert isinstance(cloud_event.data, dict)
    data = dict(cloud_event.data)
    assert data.pop("version") == RECORDED_EXTRA_FIELDS["version"]
    assert data.pop("publicEventType") == cloud_event.type
    extra = {field: data.pop(field) for field in RECORDED_EXTRA_DATA.get(name, ())}
    model = EVENT_MODELS[name].deserialize(data)
    serialized = model.serialize(keep_readonly=True)
    for field in DATE_TIME_FIELDS:
        if field in data:
            assert _moment(serialized.pop(field)) == _moment(data.pop(field))
    assert serialized == _without_nulls(data)
    # A recording's events name the call and the recording (recorded live traffic); the others
    # their call connection.
    if name == "RecordingStateChanged":
        about = f"recordings/{data['serverCallId']}/{data['recordingId']}/RecordingStateChanged"
        assert extra["eventSource"] == f"calling/{about}"
    else:
        about = f"callConnections/{data['callConnectionId']}"
    assert cloud_event.source == cloud_event.subject == f"calling/{about}"
    return name, model


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def audience(emulator: RunningEmulator) -> str:
    """The audience of the emulator's callback tokens: its resource id."""
    return emulator.config.resource_id


def check_callbacks(sink: CallbackSink, keys: CallbackKeys, audience: str, path: str | None = None) -> None:
    """Every callback POST received so far is authentic, carries exactly one event (as ACS
    sends them) and that event parses."""
    posts: list[ReceivedPost] = sink.posts if path is None else sink.posts_to(path)
    assert posts, "no callback was received"
    for post in posts:
        keys.verify(post.headers.get("Authorization"), audience)
        assert isinstance(post.body, list), post.body
        assert len(post.body) == 1, f"{len(post.body)} events in one POST"
        parse_callback_event(post.events[0])


def events_named(sink: CallbackSink, path: str, name: str) -> list[dict[str, Any]]:
    return [e for e in sink.events(path) if e["type"] == EVENT_PREFIX + name]


def names(sink: CallbackSink, path: str) -> list[str]:
    return [t.removeprefix(EVENT_PREFIX) for t in sink.event_types(path)]


def received(path: str, name: str, count: int = 1) -> Callable[[CallbackSink], bool]:
    """A ``wait_for`` condition: at least ``count`` events ``name`` arrived at ``path``."""

    def condition(sink: CallbackSink) -> bool:
        return len(events_named(sink, path, name)) >= count

    return condition


def raw_ids(participants: Sequence[CallParticipant]) -> list[str]:
    ids = []
    for participant in participants:
        assert participant.identifier is not None
        ids.append(participant.identifier.raw_id)
    return ids


def connection_id(props: CallConnectionProperties) -> str:
    assert props.call_connection_id is not None
    return props.call_connection_id
