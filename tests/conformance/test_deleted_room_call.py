"""Deleting a room does not end its running call (ACS keeps it): its participants can still press
keys and leave through the control API, and the last one out ends the call."""

from __future__ import annotations

from emulator.server import RunningEmulator
from tests.conformance.call_helpers import add_room, control, join, received
from tests.conformance.conftest import signed_request
from tests.support.callback_sink import CallbackSink


def participant_path(room_id: str, raw_id: str, action: str) -> str:
    return f"/emulator/rooms/{room_id}/participants/{raw_id}:{action}"


async def test_the_call_of_a_deleted_room_can_still_be_used_and_left(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    room = add_room(emulator, ("Presenter", "Attendee"))
    for member in room.members:
        await join(emulator, room.id, member)
    connect = {"callLocator": {"kind": "roomCallLocator", "roomId": room.id}, "callbackUri": sink.url("/bot")}
    connected = await signed_request(
        emulator, "POST", "/calling/callConnections:connect?api-version=2026-03-12", connect
    )
    assert connected.status == 200
    await sink.wait_for(received("/bot", "CallConnected"))
    deleted = await signed_request(emulator, "DELETE", f"/rooms/{room.id}?api-version=2025-03-13")
    assert deleted.status == 204

    pressed = await control(
        emulator, "POST", participant_path(room.id, room.members[0], "dtmf"), {"tones": "1#"}
    )
    first_out = await control(emulator, "POST", participant_path(room.id, room.members[1], "leave"))
    still_running = await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")
    last_out = await control(emulator, "POST", participant_path(room.id, room.members[0], "leave"))

    assert (pressed.status, pressed.body) == (200, {"tones": ["one", "pound"]})
    assert first_out.status == 204
    assert [p["rawId"] for p in still_running.body["participants"]] == [room.members[0]]
    assert last_out.status == 204
    await sink.wait_for(received("/bot", "CallDisconnected"))
    assert (await control(emulator, "GET", f"/emulator/rooms/{room.id}/call")).status == 404


async def test_leaving_or_pressing_keys_without_a_call_is_404(emulator: RunningEmulator) -> None:
    room = add_room(emulator)
    member = room.members[0]

    no_call = await control(emulator, "POST", participant_path(room.id, member, "leave"))
    no_room = await control(emulator, "POST", participant_path("99999", member, "dtmf"), {"tones": "1"})

    assert no_call.status == 404
    assert "No call is running" in no_call.body["error"]["message"]
    assert no_room.status == 404
    assert "does not exist" in no_room.body["error"]["message"]
