"""Conformance helpers: the official SDK clients against the emulator, sync and async alike.

The ``rooms``, ``identity`` and ``calls`` fixtures are parametrized over the sync and the async
client and give both the same awaitable surface, so each test runs once through each (a module
that needs only one overrides ``kind``). The sync client runs in a worker thread: it blocks, and
the emulator serves on the test's own event loop. ``sink`` receives callbacks, ``keys`` verifies
their tokens.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import aiohttp
import pytest
import requests
from azure.communication.identity import CommunicationIdentityClient, CommunicationUserIdentifier
from azure.communication.identity.aio import CommunicationIdentityClient as AsyncIdentityClient
from azure.communication.rooms import CommunicationRoom, RoomParticipant, RoomsClient
from azure.communication.rooms.aio import RoomsClient as AsyncRoomsClient
from azure.core.credentials import AccessToken, AzureKeyCredential
from azure.core.pipeline.transport import RequestsTransport

from emulator.config import DEV_RESOURCE_ID
from emulator.protocol.hmac_auth import content_hash, sign
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    CallbackKeys,
    ClientKind,
    open_call_automation,
    receiver,
)
from tests.support.callback_sink import CallbackSink

T = TypeVar("T")


def new_user_id(resource_id: str = DEV_RESOURCE_ID) -> str:
    """A communication user raw id of the emulated resource."""
    return f"8:acs:{resource_id}_{uuid.uuid4()}"


class RoomsApi(Protocol):
    async def create_room(self, **kwargs: Any) -> CommunicationRoom: ...
    async def get_room(self, room_id: str) -> CommunicationRoom: ...
    async def update_room(self, **kwargs: Any) -> CommunicationRoom: ...
    async def delete_room(self, room_id: str) -> None: ...
    async def list_rooms(self, **kwargs: Any) -> list[CommunicationRoom]: ...
    async def add_or_update_participants(self, **kwargs: Any) -> None: ...
    async def remove_participants(self, **kwargs: Any) -> None: ...
    async def list_participants(self, room_id: str, **kwargs: Any) -> list[RoomParticipant]: ...


class IdentityApi(Protocol):
    async def create_user(self) -> CommunicationUserIdentifier: ...
    async def create_user_and_token(
        self, scopes: list[str], **kwargs: Any
    ) -> tuple[CommunicationUserIdentifier, AccessToken]: ...
    async def get_token(
        self, user: CommunicationUserIdentifier, scopes: list[str], **kwargs: Any
    ) -> AccessToken: ...
    async def revoke_tokens(self, user: CommunicationUserIdentifier) -> None: ...
    async def delete_user(self, user: CommunicationUserIdentifier) -> None: ...


class _InThread:
    """Runs each call of a blocking client in a worker thread."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(method, *args, **kwargs)


class SyncRooms(_InThread):
    async def create_room(self, **kwargs: Any) -> CommunicationRoom:
        return await self.call(self.client.create_room, **kwargs)

    async def get_room(self, room_id: str) -> CommunicationRoom:
        return await self.call(self.client.get_room, room_id)

    async def update_room(self, **kwargs: Any) -> CommunicationRoom:
        return await self.call(self.client.update_room, **kwargs)

    async def delete_room(self, room_id: str) -> None:
        await self.call(self.client.delete_room, room_id)

    async def list_rooms(self, **kwargs: Any) -> list[CommunicationRoom]:
        return await self.call(lambda: list(self.client.list_rooms(**kwargs)))

    async def add_or_update_participants(self, **kwargs: Any) -> None:
        await self.call(self.client.add_or_update_participants, **kwargs)

    async def remove_participants(self, **kwargs: Any) -> None:
        await self.call(self.client.remove_participants, **kwargs)

    async def list_participants(self, room_id: str, **kwargs: Any) -> list[RoomParticipant]:
        return await self.call(lambda: list(self.client.list_participants(room_id, **kwargs)))


class AsyncRooms:
    def __init__(self, client: AsyncRoomsClient) -> None:
        self.client = client

    async def create_room(self, **kwargs: Any) -> CommunicationRoom:
        return await self.client.create_room(**kwargs)

    async def get_room(self, room_id: str) -> CommunicationRoom:
        return await self.client.get_room(room_id)

    async def update_room(self, **kwargs: Any) -> CommunicationRoom:
        return await self.client.update_room(**kwargs)

    async def delete_room(self, room_id: str) -> None:
        await self.client.delete_room(room_id)

    async def list_rooms(self, **kwargs: Any) -> list[CommunicationRoom]:
        return [room async for room in self.client.list_rooms(**kwargs)]

    async def add_or_update_participants(self, **kwargs: Any) -> None:
        await self.client.add_or_update_participants(**kwargs)

    async def remove_participants(self, **kwargs: Any) -> None:
        await self.client.remove_participants(**kwargs)

    async def list_participants(self, room_id: str, **kwargs: Any) -> list[RoomParticipant]:
        return [p async for p in self.client.list_participants(room_id, **kwargs)]


class SyncIdentity(_InThread):
    async def create_user(self) -> CommunicationUserIdentifier:
        return await self.call(self.client.create_user)

    async def create_user_and_token(
        self, scopes: list[str], **kwargs: Any
    ) -> tuple[CommunicationUserIdentifier, AccessToken]:
        return await self.call(self.client.create_user_and_token, scopes, **kwargs)

    async def get_token(
        self, user: CommunicationUserIdentifier, scopes: list[str], **kwargs: Any
    ) -> AccessToken:
        return await self.call(self.client.get_token, user, scopes, **kwargs)

    async def revoke_tokens(self, user: CommunicationUserIdentifier) -> None:
        await self.call(self.client.revoke_tokens, user)

    async def delete_user(self, user: CommunicationUserIdentifier) -> None:
        await self.call(self.client.delete_user, user)


class AsyncIdentity:
    def __init__(self, client: AsyncIdentityClient) -> None:
        self.client = client

    async def create_user(self) -> CommunicationUserIdentifier:
        return await self.client.create_user()

    async def create_user_and_token(
        self, scopes: list[str], **kwargs: Any
    ) -> tuple[CommunicationUserIdentifier, AccessToken]:
        return await self.client.create_user_and_token(list(scopes), **kwargs)

    async def get_token(
        self, user: CommunicationUserIdentifier, scopes: list[str], **kwargs: Any
    ) -> AccessToken:
        return await self.client.get_token(user, list(scopes), **kwargs)

    async def revoke_tokens(self, user: CommunicationUserIdentifier) -> None:
        await self.client.revoke_tokens(user)

    async def delete_user(self, user: CommunicationUserIdentifier) -> None:
        await self.client.delete_user(user)


@pytest.fixture(params=["sync", "async"])
async def rooms(request: pytest.FixtureRequest, emulator: RunningEmulator) -> AsyncIterator[RoomsApi]:
    """A Rooms client built from parts over plain http; no azure-core retries, so errors surface at once."""
    credential = AzureKeyCredential(emulator.config.access_key)
    if request.param == "sync":
        sync_client = RoomsClient(emulator.url, credential, retry_total=0)
        yield SyncRooms(sync_client)
        sync_client.close()
    else:
        async with AsyncRoomsClient(emulator.url, credential, retry_total=0) as async_client:
            yield AsyncRooms(async_client)


@pytest.fixture(params=["sync", "async"])
async def identity(request: pytest.FixtureRequest, emulator: RunningEmulator) -> AsyncIterator[IdentityApi]:
    """An Identity client built from parts over plain http, without retries."""
    credential = AzureKeyCredential(emulator.config.access_key)
    if request.param == "sync":
        # This client has no close(); an owned session is how its connections get closed.
        with requests.Session() as session:
            transport = RequestsTransport(session=session, session_owner=False)
            yield SyncIdentity(
                CommunicationIdentityClient(emulator.url, credential, retry_total=0, transport=transport)
            )
    else:
        async with AsyncIdentityClient(emulator.url, credential, retry_total=0) as async_client:
            yield AsyncIdentity(async_client)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> ClientKind:
    """Which official Call Automation client a test runs through."""
    value: ClientKind = request.param
    return value


@pytest.fixture
async def calls(emulator: RunningEmulator, kind: ClientKind) -> AsyncIterator[CallAutomationApi]:
    async with open_call_automation(emulator, kind) as api:
        yield api


@pytest.fixture
async def sink(emulator: RunningEmulator) -> AsyncIterator[CallbackSink]:
    async with receiver(emulator) as running:
        yield running


@pytest.fixture
async def keys(emulator: RunningEmulator) -> CallbackKeys:
    return await CallbackKeys.fetch(emulator)


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: Any


def rfc1123(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


async def signed_request(
    emulator: RunningEmulator,
    method: str,
    path_and_query: str,
    body: Any = None,
    *,
    raw_body: bytes | None = None,
    access_key: str | None = None,
    date: datetime | None = None,
    headers: dict[str, str] | None = None,
    sign_body: bytes | None = None,
    authorize: bool = True,
    ssl_context: ssl.SSLContext | None = None,
    raw: bool = False,
) -> RawAnswer:
    """One request signed as the SDKs sign it, with knobs to break each part of the signature.

    ``body`` is sent as JSON (or ``raw_body`` as is); ``sign_body`` signs other bytes than
    those sent; ``access_key`` and ``date`` override the real ones. With ``raw`` the answer's
    body is its bytes, else its JSON.
    """
    payload = raw_body if raw_body is not None else (b"" if body is None else json.dumps(body).encode())
    host = urlsplit(emulator.url).netloc
    x_ms_date = rfc1123(date or datetime.now(UTC))
    body_hash = content_hash(payload if sign_body is None else sign_body)
    signature = sign(
        access_key or emulator.config.access_key, method, path_and_query, x_ms_date, host, body_hash
    )
    all_headers = {
        "x-ms-date": x_ms_date,
        "x-ms-content-sha256": body_hash,
        "Content-Type": "application/json",
    }
    if authorize:
        all_headers["Authorization"] = (
            f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        )
    all_headers.update(headers or {})
    url = emulator.url + path_and_query
    tls: ssl.SSLContext | bool = ssl_context or True
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=payload, headers=all_headers, ssl=tls) as response,
    ):
        if raw:
            return RawAnswer(response.status, dict(response.headers), await response.read())
        text = await response.text()
        parsed = json.loads(text) if text else None
        return RawAnswer(response.status, dict(response.headers), parsed)


def other_key() -> str:
    return base64.b64encode(b"a key the emulator does not know about!!").decode()
