"""Shapes compared with the real service's recorded answers: the connect and get-call bodies,
malformed room ids, not-found bodies, and the 501 of every operation the emulator does not run."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import (
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator.calls.unsupported import operations
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    add_room,
    join,
    received,
)
from tests.conformance.conftest import RoomsApi, signed_request
from tests.conformance.participant_helpers import live_call
from tests.conformance.review_helpers import acs_error, on_client, on_connection
from tests.support.callback_sink import CallbackSink

VERSION = "?api-version=2026-03-12"


async def test_the_connect_answer_and_get_call_have_the_real_fields(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    server_call_id = await join(emulator, room.id, room.members[0])
    body = {"callLocator": {"kind": "roomCallLocator", "roomId": room.id}, "callbackUri": sink.url("/raw")}

    answer = await signed_request(emulator, "POST", f"/calling/callConnections:connect{VERSION}", body)

    assert answer.status == 200
    assert "serverCallId" not in answer.body
    subscription = answer.body["mediaStreamingSubscription"]
    assert (subscription["state"], subscription["subscribedContentTypes"]) == ("disabled", ["audio"])
    assert subscription["id"]
    assert set(answer.body) == {
        "callConnectionId",
        "targets",
        "callConnectionState",
        "callbackUri",
        "correlationId",
        "mediaStreamingSubscription",
    }
    await sink.wait_for(received("/raw", "ParticipantsUpdated"))
    path = f"/calling/callConnections/{answer.body['callConnectionId']}{VERSION}"
    got = await signed_request(emulator, "GET", path)
    assert got.status == 200
    assert got.body["serverCallId"] == server_call_id
    assert got.body["mediaStreamingSubscription"] == {"state": "disabled"}
    assert got.body["transcriptionSubscription"] == {"state": "disabled", "subscribedResultTypes": []}


@pytest.mark.parametrize(
    ("room_id", "message"),
    [
        ("123", "Invalid room ID length."),
        ("invalid_id", "Invalid room ID length."),
        ("12345678901234567890", "Invalid room ID length."),
        ("non-existingroomId", "Invalid room ID."),
    ],
)
async def test_a_malformed_room_id_is_400_before_any_lookup(
    calls: CallAutomationApi, rooms: RoomsApi, sink: CallbackSink, room_id: str, message: str
) -> None:
    with pytest.raises(HttpResponseError) as connecting:
        await calls.connect(sink.url("/bot"), room_id=room_id)
    with pytest.raises(HttpResponseError) as getting:
        await rooms.get_room(room_id)

    for caught in (connecting.value, getting.value):
        assert acs_error(caught) == (400, "BadRequest")
        assert caught.error is not None
        assert caught.error.message == message


@pytest.mark.parametrize("room_id", ["9942685257539934", "99426852575399341", "994268525753993411"])
async def test_a_well_formed_unknown_room_id_is_not_found(rooms: RoomsApi, room_id: str) -> None:
    # 16 digits are a real room's (recorded live traffic): looked up, not refused.
    with pytest.raises(ResourceNotFoundError):
        await rooms.get_room(room_id)


async def test_an_unknown_room_is_the_bare_not_found_body(emulator: RunningEmulator) -> None:
    answer = await signed_request(emulator, "GET", "/rooms/99999999999999999?api-version=2025-03-13")

    assert answer.status == 404
    assert answer.body == {
        "error": {"code": "NotFound", "message": "The server cannot find the requested resource."}
    }


USER = CommunicationUserIdentifier(
    "8:acs:7e0c9d55-2a4b-4f7e-9a61-0e51a7000001_00000000-0000-0000-0000-000000000001"
)
CLIENT_OPERATIONS: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
    "createCall": ("create_call", (USER, "https://bot.example/cb"), {}),
    "answerCall": ("answer_call", ("incoming-call-context", "https://bot.example/cb"), {}),
    "redirectCall": ("redirect_call", ("incoming-call-context", USER), {}),
    "rejectCall": ("reject_call", ("incoming-call-context",), {}),
}
CONNECTION_OPERATIONS: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
    "transferToParticipant": ("transfer_call_to_participant", (PhoneNumberIdentifier("+14255550123"),), {}),
    "moveParticipants": ("move_participants", ([USER], "another-call-connection-id"), {}),
}


@pytest.mark.parametrize("operation", list(CLIENT_OPERATIONS))
async def test_operations_without_a_connection_answer_501_naming_the_operation(
    calls: CallAutomationApi, operation: str
) -> None:
    method, args, kwargs = CLIENT_OPERATIONS[operation]

    with pytest.raises(HttpResponseError) as caught:
        await on_client(calls, method, *args, **kwargs)

    assert not isinstance(caught.value, ResourceNotFoundError)
    assert acs_error(caught.value) == (501, "NotSupportedByEmulator")
    assert caught.value.error is not None
    assert operation in str(caught.value.error.message)


@pytest.mark.parametrize("operation", list(CONNECTION_OPERATIONS))
async def test_operations_on_a_connection_answer_501_naming_the_operation(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, operation: str
) -> None:
    live = await live_call(emulator, calls, sink)
    method, args, kwargs = CONNECTION_OPERATIONS[operation]
    if method == "transfer_call_to_participant":
        kwargs = {"source_caller_id_number": PhoneNumberIdentifier("+14255550100")}

    with pytest.raises(HttpResponseError) as caught:
        await on_connection(calls, live.connection_id, method, *args, **kwargs)

    assert acs_error(caught.value) == (501, "NotSupportedByEmulator")
    assert caught.value.error is not None
    assert operation in str(caught.value.error.message)


async def test_every_unsupported_operation_answers_501_over_raw_requests(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    paths = {
        "createCall": "/calling/callConnections",
        "answerCall": "/calling/callConnections:answer",
        "redirectCall": "/calling/callConnections:redirect",
        "rejectCall": "/calling/callConnections:reject",
        "transferToParticipant": f"/calling/callConnections/{live.connection_id}:transferToParticipant",
        "moveParticipants": f"/calling/callConnections/{live.connection_id}/participants:moveHere",
        "startTranscription": f"/calling/callConnections/{live.connection_id}:startTranscription",
        "stopTranscription": f"/calling/callConnections/{live.connection_id}:stopTranscription",
        "updateTranscription": f"/calling/callConnections/{live.connection_id}:updateTranscription",
        "startMediaStreaming": f"/calling/callConnections/{live.connection_id}:startMediaStreaming",
        "stopMediaStreaming": f"/calling/callConnections/{live.connection_id}:stopMediaStreaming",
        "summarizeCall": f"/calling/callConnections/{live.connection_id}:summarizeCall",
    }
    assert sorted(paths) == sorted(operations())

    for operation, path in paths.items():
        answer = await signed_request(emulator, "POST", path + VERSION, {})
        assert answer.status == 501, (operation, answer)
        assert answer.body["error"]["code"] == "NotSupportedByEmulator"
        assert answer.body["error"]["target"] == operation
