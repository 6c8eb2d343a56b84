"""Helpers for the participant, phone and fault conformance tests.

- participant actions of the official client (add, remove, cancel, mute), sync or async, behind
  one awaitable surface, built on the clients ``open_call_automation`` gives;
- a room call with dial-out enabled, a member in it and a connected app, ready to add phones;
- the control API for phones, invitations and faults.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from azure.communication.callautomation import (
    AddParticipantResult,
    CallConnectionClient,
    CancelAddParticipantOperationResult,
    CommunicationIdentifier,
    MuteParticipantResult,
    PhoneNumberIdentifier,
    RemoveParticipantResult,
)
from azure.communication.callautomation.aio import CallConnectionClient as AsyncCallConnectionClient
from azure.core.exceptions import HttpResponseError, ODataV4Format

from emulator.keys import ROOMS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    Answer,
    AsyncCallAutomation,
    CallAutomationApi,
    SyncCallAutomation,
    add_room,
    connection_id,
    control,
    join,
    received,
)
from tests.support.callback_sink import CallbackSink, ReceivedPost

CALLER_ID = PhoneNumberIdentifier("+14255550100")


class ParticipantsApi(Protocol):
    async def add(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> AddParticipantResult: ...
    async def remove(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> RemoveParticipantResult: ...
    async def cancel(
        self, call_connection_id: str, invitation_id: str, **kwargs: Any
    ) -> CancelAddParticipantOperationResult: ...
    async def mute(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> MuteParticipantResult: ...


class SyncParticipants:
    def __init__(self, api: SyncCallAutomation) -> None:
        self._client = api.client

    def _connection(self, call_connection_id: str) -> CallConnectionClient:
        return self._client.get_call_connection(call_connection_id)

    async def add(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> AddParticipantResult:
        connection = self._connection(call_connection_id)
        return await asyncio.to_thread(lambda: connection.add_participant(target, **kwargs))

    async def remove(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> RemoveParticipantResult:
        connection = self._connection(call_connection_id)
        return await asyncio.to_thread(lambda: connection.remove_participant(target, **kwargs))

    async def cancel(
        self, call_connection_id: str, invitation_id: str, **kwargs: Any
    ) -> CancelAddParticipantOperationResult:
        connection = self._connection(call_connection_id)
        return await asyncio.to_thread(
            lambda: connection.cancel_add_participant_operation(invitation_id, **kwargs)
        )

    async def mute(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> MuteParticipantResult:
        connection = self._connection(call_connection_id)
        return await asyncio.to_thread(lambda: connection.mute_participant(target, **kwargs))


class AsyncParticipants:
    def __init__(self, api: AsyncCallAutomation) -> None:
        self._client = api.client

    def _connection(self, call_connection_id: str) -> AsyncCallConnectionClient:
        return self._client.get_call_connection(call_connection_id)

    async def add(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> AddParticipantResult:
        return await self._connection(call_connection_id).add_participant(target, **kwargs)

    async def remove(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> RemoveParticipantResult:
        return await self._connection(call_connection_id).remove_participant(target, **kwargs)

    async def cancel(
        self, call_connection_id: str, invitation_id: str, **kwargs: Any
    ) -> CancelAddParticipantOperationResult:
        return await self._connection(call_connection_id).cancel_add_participant_operation(
            invitation_id, **kwargs
        )

    async def mute(
        self, call_connection_id: str, target: CommunicationIdentifier, **kwargs: Any
    ) -> MuteParticipantResult:
        return await self._connection(call_connection_id).mute_participant(target, **kwargs)


def participants_of(api: CallAutomationApi) -> ParticipantsApi:
    if isinstance(api, SyncCallAutomation):
        return SyncParticipants(api)
    assert isinstance(api, AsyncCallAutomation)
    return AsyncParticipants(api)


@dataclass(frozen=True)
class LiveCall:
    room_id: str
    members: list[str]
    connection_id: str


async def live_call(
    emulator: RunningEmulator,
    calls: CallAutomationApi,
    sink: CallbackSink,
    *,
    path: str = "/bot",
    dial_out: bool = True,
    roles: tuple[str, ...] = ("Presenter", "Attendee"),
) -> LiveCall:
    """A room call with its first member in it and an app connected at ``sink.url(path)``."""
    room = add_room(emulator, roles)
    stored = emulator.app[ROOMS].get(room.id)
    assert stored is not None
    stored.pstn_dial_out_enabled = dial_out
    await join(emulator, room.id, room.members[0])
    props = await calls.connect(sink.url(path), room_id=room.id)
    await sink.wait_for(received(path, "ParticipantsUpdated"))
    return LiveCall(room.id, room.members, connection_id(props))


async def set_phone(emulator: RunningEmulator, number: str, **behaviour: Any) -> Answer:
    answer = await control(emulator, "PUT", f"/emulator/phones/{number}", behaviour)
    assert answer.status == 200, answer
    return answer


async def invitations(emulator: RunningEmulator, room_id: str) -> list[dict[str, Any]]:
    answer = await control(emulator, "GET", f"/emulator/invitations?roomId={room_id}")
    assert answer.status == 200, answer
    found: list[dict[str, Any]] = answer.body
    return found


async def room_call(emulator: RunningEmulator, room_id: str) -> dict[str, Any]:
    answer = await control(emulator, "GET", f"/emulator/rooms/{room_id}/call")
    assert answer.status == 200, answer
    view: dict[str, Any] = answer.body
    return view


def phone_ids(view: dict[str, Any]) -> list[str]:
    return [p["rawId"] for p in view["participants"] if p["kind"] == "phoneNumber"]


async def set_faults(emulator: RunningEmulator, body: dict[str, Any]) -> Answer:
    answer = await control(emulator, "PUT", "/emulator/faults", body)
    assert answer.status == 200, answer
    return answer


async def answer_handshake(post: ReceivedPost) -> web.StreamResponse:
    """An Event Grid endpoint's side of the validation handshake; other posts get 200."""
    if post.headers.get("aeg-event-type") == "SubscriptionValidation":
        (event,) = post.events
        return web.json_response({"validationResponse": event["data"]["validationCode"]})
    return web.Response()


async def subscribe_event_grid(emulator: RunningEmulator, sink: CallbackSink, path: str) -> None:
    sink.respond(path, answer_handshake)
    answer = await control(
        emulator, "POST", "/emulator/eventgrid/subscriptions", {"endpoint": sink.url(path)}
    )
    assert answer.status == 201, answer


def error_of(exc: HttpResponseError) -> ODataV4Format:
    """The ACS error body an SDK exception carries."""
    assert exc.error is not None, exc
    return exc.error


def invitation_of(result: AddParticipantResult) -> str:
    assert result.invitation_id is not None
    return result.invitation_id
