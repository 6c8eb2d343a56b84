"""The simulation control API: room members joining and leaving, the room call's state, the log
of ACS requests."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from emulator.keys import ROOMS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    ClientKind,
    add_room,
    connection_id,
    control,
    join,
    leave,
    received,
    receiver,
)

PHONE = "4:+14255550123"


@pytest.fixture
def kind() -> ClientKind:
    # What is tested here is the emulator's side; the async client alone is enough.
    return "async"


async def test_the_first_join_starts_the_room_call_and_everyone_joins_the_same_call(
    emulator: RunningEmulator,
) -> None:
    room = add_room(emulator, ["Presenter", "Consumer"])
    assert (await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")).status == 404

    first = await join(emulator, room.id, room.members[0])
    second = await join(emulator, room.id, room.members[1])

    assert first == second
    view = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert view.status == 200
    assert view.body["serverCallId"] == first
    assert view.body["state"] == "connected"
    assert view.body["media"] == []
    assert view.body["connections"] == []
    assert view.body["participants"] == [
        {
            "rawId": room.members[0],
            "kind": "communicationUser",
            "role": "Presenter",
            "state": "connected",
            "isMuted": False,
        },
        {
            "rawId": room.members[1],
            "kind": "communicationUser",
            "role": "Consumer",
            "state": "connected",
            "isMuted": False,
        },
    ]


async def test_joining_twice_is_one_participant(emulator: RunningEmulator) -> None:
    room = add_room(emulator)
    first = await join(emulator, room.id, room.members[0])
    again = await join(emulator, room.id, room.members[0])
    assert again == first
    view = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert len(view.body["participants"]) == 1


async def test_the_last_one_out_ends_the_call_and_the_next_join_starts_a_new_one(
    emulator: RunningEmulator,
) -> None:
    room = add_room(emulator)
    first_call = await join(emulator, room.id, room.members[0])
    await join(emulator, room.id, room.members[1])

    await leave(emulator, room.id, room.members[0])
    view = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert [p["rawId"] for p in view.body["participants"]] == [room.members[1]]
    await leave(emulator, room.id, room.members[1])

    assert (await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")).status == 404
    assert await join(emulator, room.id, room.members[0]) != first_call


async def test_someone_off_the_roster_is_forbidden(emulator: RunningEmulator) -> None:
    room = add_room(emulator)
    stranger = f"8:acs:{emulator.config.resource_id}_00000000-0000-0000-0000-000000000001"

    answer = await control(emulator, "POST", f"/emulator/rooms/{room.id}/participants/{stranger}:join")

    assert answer.status == 403
    assert answer.body["error"]["code"] == "Forbidden"
    assert stranger in answer.body["error"]["message"]
    assert (await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")).status == 404


@pytest.mark.parametrize(
    ("opens_in", "open_for"),
    [
        pytest.param(timedelta(hours=1), timedelta(hours=1), id="not-yet-open"),
        pytest.param(timedelta(hours=-2), timedelta(hours=1), id="already-closed"),
    ],
)
async def test_joining_outside_the_validity_window_is_a_conflict(
    emulator: RunningEmulator, opens_in: timedelta, open_for: timedelta
) -> None:
    room = add_room(emulator, opens_in=opens_in, open_for=open_for)

    answer = await control(emulator, "POST", f"/emulator/rooms/{room.id}/participants/{room.members[0]}:join")

    assert answer.status == 409
    assert answer.body["error"]["code"] == "Conflict"
    assert (await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")).status == 404


async def test_an_unknown_room_is_not_found(emulator: RunningEmulator) -> None:
    member = f"8:acs:{emulator.config.resource_id}_00000000-0000-0000-0000-000000000002"
    for path in (
        f"/emulator/rooms/12345678901234567/participants/{member}:join",
        f"/emulator/rooms/12345678901234567/participants/{member}:leave",
    ):
        answer = await control(emulator, "POST", path)
        assert answer.status == 404
        assert answer.body["error"]["code"] == "NotFound"
    assert (await control(emulator, "GET", "/emulator/rooms/12345678901234567/call")).status == 404


async def test_leaving_a_call_one_is_not_in_is_not_found(emulator: RunningEmulator) -> None:
    room = add_room(emulator)
    no_call = await control(
        emulator, "POST", f"/emulator/rooms/{room.id}/participants/{room.members[0]}:leave"
    )
    await join(emulator, room.id, room.members[0])
    not_in = await control(
        emulator, "POST", f"/emulator/rooms/{room.id}/participants/{room.members[1]}:leave"
    )
    assert (no_call.status, not_in.status) == (404, 404)


async def test_raw_ids_match_url_encoded_and_literal(emulator: RunningEmulator) -> None:
    room = add_room(emulator)
    # Rooms rosters hold ACS users; a phone-shaped id shows that '+' survives both spellings.
    emulator.app[ROOMS].get(room.id).participants[PHONE] = "Attendee"  # type: ignore[union-attr]
    encoded_member, encoded_phone = quote(room.members[0], safe=""), quote(PHONE, safe="")

    await join(emulator, room.id, encoded_member)
    await join(emulator, room.id, PHONE)
    view = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
    assert [(p["rawId"], p["kind"]) for p in view.body["participants"]] == [
        (room.members[0], "communicationUser"),
        (PHONE, "phoneNumber"),
    ]
    await leave(emulator, room.id, encoded_phone)
    await leave(emulator, room.id, room.members[0])
    assert (await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")).status == 404


async def test_a_join_body_that_is_not_an_object_is_a_bad_request(emulator: RunningEmulator) -> None:
    room = add_room(emulator)
    path = f"/emulator/rooms/{room.id}/participants/{room.members[0]}:join"
    assert (await control(emulator, "POST", path, ["not", "an", "object"])).status == 400
    assert (await control(emulator, "POST", path, {"displayName": 7})).status == 400
    assert (await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")).status == 404


async def test_the_room_call_lists_its_connections(
    emulator: RunningEmulator, calls: CallAutomationApi
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    async with receiver(emulator) as sink:
        first = await calls.connect(sink.url("/first"), room_id=room.id)
        second = await calls.connect(sink.url("/second"), room_id=room.id)
        view = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
        assert view.body["connections"] == [connection_id(first), connection_id(second)]
        await sink.wait_for(received("/first", "ParticipantsUpdated"))
        await sink.wait_for(received("/second", "ParticipantsUpdated"))
        assert [p["rawId"] for p in view.body["participants"]] == [room.members[0]]


async def test_the_request_log_lists_acs_requests_oldest_first_and_clears(
    emulator: RunningEmulator, calls: CallAutomationApi
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    async with receiver(emulator) as sink:
        props = await calls.connect(sink.url(), room_id=room.id, operation_context="logged")
        await calls.get_call_properties(connection_id(props))
        await calls.hang_up(connection_id(props), is_for_everyone=True)
        await sink.wait_for(received("/callbacks", "CallDisconnected"))

    log = await control(emulator, "GET", "/emulator/requests")

    assert log.status == 200
    assert [(e["method"], e["path"], e["status"]) for e in log.body] == [
        ("POST", "/calling/callConnections:connect", 200),
        ("GET", f"/calling/callConnections/{props.call_connection_id}", 200),
        ("POST", f"/calling/callConnections/{props.call_connection_id}:terminate", 204),
    ]
    connect, _, terminate = log.body
    assert connect["body"]["callLocator"] == {"kind": "roomCallLocator", "roomId": room.id}
    assert connect["body"]["operationContext"] == "logged"
    assert connect["repeatabilityRequestId"]
    assert terminate["repeatabilityRequestId"] not in {None, connect["repeatabilityRequestId"]}
    assert (await control(emulator, "DELETE", "/emulator/requests")).status == 204
    assert (await control(emulator, "GET", "/emulator/requests")).body == []
