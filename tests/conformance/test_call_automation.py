"""The official Call Automation clients (sync and async) against the emulator's room calls."""

from __future__ import annotations

import uuid

import pytest
from azure.communication.callautomation import CommunicationUserIdentifier
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator.keys import CALLBACKS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    add_room,
    connection_id,
    control,
    events_named,
    join,
    names,
    open_call_automation,
    raw_ids,
    received,
)
from tests.conformance.conftest import signed_request
from tests.support.callback_sink import CallbackSink


async def connected(sink: CallbackSink, path: str) -> None:
    await sink.wait_for(received(path, "ParticipantsUpdated"))


async def test_connect_by_room_locator_answers_connecting_then_connects(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    server_call_id = await join(emulator, room.id, room.members[0])

    props = await calls.connect(sink.url("/bot"), room_id=room.id, operation_context="greeting")

    assert props.call_connection_state == "connecting"
    # As real ACS answers connect: the server call id comes with CallConnected and get call.
    assert props.server_call_id is None
    assert props.callback_url == sink.url("/bot")
    assert props.call_connection_id
    assert props.correlation_id
    await connected(sink, "/bot")
    later = await calls.get_call_properties(connection_id(props))
    assert later.call_connection_state == "connected"
    assert later.call_connection_id == props.call_connection_id
    assert later.server_call_id == server_call_id
    view = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert view.body["connections"] == [props.call_connection_id]


async def test_connect_by_server_call_locator_joins_the_same_call(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    server_call_id = await join(emulator, room.id, room.members[0])

    props = await calls.connect(sink.url("/bot"), server_call_id=server_call_id)

    await connected(sink, "/bot")
    assert (await calls.get_call_properties(connection_id(props))).server_call_id == server_call_id
    (connected_event,) = events_named(sink, "/bot", "CallConnected")
    assert connected_event["data"]["serverCallId"] == server_call_id


async def test_list_participants_follows_next_link_through_every_page(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    room = add_room(emulator, ["Presenter", "Attendee", "Attendee", "Consumer", "Collaborator"])
    for member in room.members:
        await join(emulator, room.id, member)
    props = await calls.connect(sink.url("/bot"), room_id=room.id)
    await control(emulator, "DELETE", "/emulator/requests")

    participants = await calls.list_participants(connection_id(props), params={"maxPageSize": 2})

    assert raw_ids(participants) == room.members
    assert all(isinstance(p.identifier, CommunicationUserIdentifier) for p in participants)
    assert not any(p.is_muted for p in participants)
    log = await control(emulator, "GET", "/emulator/requests")
    pages = [e for e in log.body if e["path"].endswith("/participants")]
    assert len(pages) == 3
    assert all(e["status"] == 200 for e in pages)


async def test_list_participants_in_one_page_by_default(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    for member in room.members:
        await join(emulator, room.id, member)
    props = await calls.connect(sink.url("/bot"), room_id=room.id)

    participants = await calls.list_participants(connection_id(props))

    assert raw_ids(participants) == room.members


async def test_get_participant_finds_members_and_not_strangers(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    props = await calls.connect(sink.url("/bot"), room_id=room.id)

    found = await calls.get_participant(connection_id(props), room.members[0])
    assert raw_ids([found]) == room.members[:1]
    with pytest.raises(ResourceNotFoundError):
        await calls.get_participant(connection_id(props), room.members[1])
    with pytest.raises(ResourceNotFoundError):
        await calls.get_participant(connection_id(props), "4:+14255550123")


async def test_hang_up_for_everyone_ends_the_call_for_every_connection(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    first = await calls.connect(sink.url("/first"), room_id=room.id)
    second = await calls.connect(sink.url("/second"), room_id=room.id)
    await connected(sink, "/first")
    await connected(sink, "/second")

    await calls.hang_up(connection_id(first), is_for_everyone=True)

    await sink.wait_for(received("/first", "CallDisconnected"))
    await sink.wait_for(received("/second", "CallDisconnected"))
    assert (await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")).status == 404
    for connection in (first, second):
        with pytest.raises(ResourceNotFoundError):
            await calls.get_call_properties(connection_id(connection))


async def test_hang_up_not_for_everyone_only_this_connection_leaves(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    leaving = await calls.connect(sink.url("/leaving"), room_id=room.id)
    staying = await calls.connect(sink.url("/staying"), room_id=room.id)
    await connected(sink, "/leaving")
    await connected(sink, "/staying")

    await calls.hang_up(connection_id(leaving), is_for_everyone=False)

    await sink.wait_for(received("/leaving", "CallDisconnected"))
    view = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert view.status == 200
    assert view.body["connections"] == [staying.call_connection_id]
    assert [p["rawId"] for p in view.body["participants"]] == [room.members[0]]
    assert (await calls.get_call_properties(connection_id(staying))).call_connection_state == "connected"
    await emulator.app[CALLBACKS].drain()
    assert names(sink, "/staying") == ["CallConnected", "ParticipantsUpdated"]


async def test_unknown_call_connection_is_not_found_with_code_8522(
    emulator: RunningEmulator, calls: CallAutomationApi
) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(ResourceNotFoundError) as raised:
        await calls.get_call_properties(unknown)
    assert raised.value.error is not None
    assert raised.value.error.code == "8522"
    with pytest.raises(ResourceNotFoundError):
        await calls.hang_up(unknown, is_for_everyone=True)
    with pytest.raises(ResourceNotFoundError):
        await calls.hang_up(unknown, is_for_everyone=False)
    with pytest.raises(ResourceNotFoundError):
        await calls.list_participants(unknown)


async def test_connect_to_a_room_that_does_not_exist_is_not_found(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        await calls.connect(sink.url("/bot"), room_id="99999999999999999")
    assert raised.value.status_code == 404
    assert raised.value.error is not None
    assert raised.value.error.code == "8522"


async def test_connect_with_an_invalid_callback_uri_is_a_bad_request(
    emulator: RunningEmulator, calls: CallAutomationApi
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    with pytest.raises(HttpResponseError) as raised:
        await calls.connect("not a url", room_id=room.id)
    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "8523"


@pytest.mark.parametrize("api_version", ["2024-09-15", "2025-06-15"])
async def test_older_stable_api_versions_connect_too(
    emulator: RunningEmulator, sink: CallbackSink, api_version: str
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    async with open_call_automation(emulator, "async", api_version=api_version) as calls:
        props = await calls.connect(sink.url("/bot"), room_id=room.id)
        await connected(sink, "/bot")
        assert (await calls.get_call_properties(connection_id(props))).call_connection_state == "connected"
    log = await control(emulator, "GET", "/emulator/requests")
    assert {e["query"]["api-version"] for e in log.body} == {api_version}
    # The events' data name the version the connect spoke (recorded live events).
    assert {event["data"]["version"] for event in sink.events("/bot")} == {api_version}


async def test_a_repeated_connect_request_id_connects_once(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    repeat = {"Repeatability-Request-ID": str(uuid.uuid4())}
    async with open_call_automation(emulator, "async") as calls:
        first = await calls.connect(sink.url("/bot"), room_id=room.id, headers=repeat)
        again = await calls.connect(sink.url("/bot"), room_id=room.id, headers=repeat)

    assert again.call_connection_id == first.call_connection_id
    view = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert view.body["connections"] == [first.call_connection_id]


CALLS = "/calling/callConnections"
VERSION = "?api-version=2026-03-12"
CALLBACK = "https://bot.example/cb"
ROOM_LOCATOR = {"kind": "roomCallLocator", "roomId": "1"}


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", ":terminate"), ("GET", "/participants")]
)
async def test_the_not_found_answer_is_the_acs_error_body(
    emulator: RunningEmulator, method: str, suffix: str
) -> None:
    unknown = str(uuid.uuid4())
    path = f"{CALLS}/{unknown}{suffix}"
    answer = await signed_request(emulator, method, path + VERSION, {} if method == "POST" else None)

    assert answer.status == 404
    assert "x-ms-error-code" not in answer.headers
    # The target is the request's path, as recorded live ("/calling/callConnections/{id}:terminate").
    assert answer.body == {"error": {"code": "8522", "message": "Call not found.", "target": path}}


@pytest.mark.parametrize(
    ("body", "target"),
    [
        pytest.param({"callbackUri": CALLBACK}, "callLocator", id="no-locator"),
        pytest.param(
            {"callbackUri": CALLBACK, "callLocator": {"kind": "teamsMeetingLink"}},
            "callLocator.kind",
            id="unknown-kind",
        ),
        pytest.param(
            {"callbackUri": CALLBACK, "callLocator": {"kind": "roomCallLocator"}},
            "callLocator.roomId",
            id="no-room-id",
        ),
        pytest.param({"callLocator": ROOM_LOCATOR}, "callbackUri", id="no-callback"),
        pytest.param(
            {
                "callbackUri": "ftp://bot.example/cb",
                "callLocator": ROOM_LOCATOR,
            },
            "callbackUri",
            id="not-http",
        ),
        pytest.param(
            {
                "callbackUri": CALLBACK,
                "callLocator": ROOM_LOCATOR,
                "operationContext": 5,
            },
            "operationContext",
            id="context-not-a-string",
        ),
    ],
)
async def test_a_malformed_connect_request_is_an_invalid_argument(
    emulator: RunningEmulator, body: dict[str, object], target: str
) -> None:
    answer = await signed_request(emulator, "POST", f"{CALLS}:connect{VERSION}", body)

    assert answer.status == 400
    assert answer.body["error"]["code"] == "8523"
    assert answer.body["error"]["target"] == target
    assert (await control(emulator, "GET", "/emulator/requests")).body[-1]["status"] == 400


@pytest.mark.parametrize("query", ["&skip=-1", "&maxPageSize=0", "&maxPageSize=101", "&skip=x"])
async def test_bad_paging_parameters_are_rejected(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, query: str
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    props = await calls.connect(sink.url("/bot"), room_id=room.id)

    answer = await signed_request(
        emulator, "GET", f"{CALLS}/{props.call_connection_id}/participants{VERSION}{query}"
    )

    assert answer.status == 400
    assert answer.body["error"]["code"] == "8523"
