"""A connection still ``connecting`` refuses actions with 400/8501, through the official SDK, so
that no event of an action can reach the app before its CallConnected."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from azure.communication.callautomation import (
    CommunicationUserIdentifier,
    DtmfTone,
    PhoneNumberIdentifier,
    RecognizeInputType,
    TextSource,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator.config import DEV_COGNITIVE_SERVICES_ENDPOINT, EmulatorConfig
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    add_room,
    connection_id,
    join,
    names,
    received,
    settle,
)
from tests.conformance.review_helpers import acs_error, on_connection
from tests.support.callback_sink import CallbackSink

# Simulated seconds stretched so far that a connection stays `connecting` for the whole test.
SLOW_CONNECT = EmulatorConfig(time_scale=1000.0)
HELLO = TextSource(text="hello there")

Members = list[CommunicationUserIdentifier]
# An action: the client method and its arguments, given the room's members.
ACTIONS: dict[str, Callable[[Members], tuple[str, list[Any], dict[str, Any]]]] = {
    "play to all": lambda m: ("play_media", [HELLO], {}),
    "play to one": lambda m: ("play_media", [HELLO], {"play_to": [m[0]]}),
    "recognize": lambda m: ("start_recognizing_media", [RecognizeInputType.DTMF, m[0]], {}),
    "cancel media": lambda m: ("cancel_all_media_operations", [], {}),
    "start continuous dtmf": lambda m: ("start_continuous_dtmf_recognition", [m[0]], {}),
    "stop continuous dtmf": lambda m: ("stop_continuous_dtmf_recognition", [m[0]], {}),
    "send dtmf": lambda m: ("send_dtmf_tones", [[DtmfTone.ONE], PhoneNumberIdentifier("+14255550123")], {}),
    "add": lambda m: ("add_participant", [m[2]], {}),
    "cancel add": lambda m: ("cancel_add_participant_operation", ["an-invitation-id"], {}),
    "remove": lambda m: ("remove_participant", [m[1]], {}),
    "mute": lambda m: ("mute_participant", [m[1]], {}),
    "hold": lambda m: ("hold", [m[0]], {}),
    "unhold": lambda m: ("unhold", [m[0]], {}),
}


async def connecting_call(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> tuple[str, Members]:
    """A room call with two of its three members in it and an app whose connect was answered."""
    room = add_room(emulator, ("Presenter", "Attendee", "Attendee"))
    for member in room.members[:2]:
        await join(emulator, room.id, member)
    props = await calls.connect(
        sink.url("/bot"), room_id=room.id, cognitive_services_endpoint=DEV_COGNITIVE_SERVICES_ENDPOINT
    )
    assert props.call_connection_state == "connecting"
    return connection_id(props), [CommunicationUserIdentifier(m) for m in room.members]


@pytest.mark.parametrize("emulator_config", [SLOW_CONNECT], ids=["slow-connect"])
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_an_action_before_call_connected_is_refused_with_8501(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, action: str
) -> None:
    cid, members = await connecting_call(emulator, calls, sink)
    method, args, kwargs = ACTIONS[action](members)

    with pytest.raises(HttpResponseError) as caught:
        await on_connection(calls, cid, method, *args, **kwargs)

    assert acs_error(caught.value) == (400, "8501")
    assert "not established" in str(caught.value.error.message if caught.value.error else "")
    await settle(emulator)
    assert sink.posts_to("/bot") == []


@pytest.mark.parametrize("emulator_config", [SLOW_CONNECT], ids=["slow-connect"])
async def test_properties_participants_and_hang_up_work_while_connecting(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    cid, members = await connecting_call(emulator, calls, sink)

    props = await calls.get_call_properties(cid)
    listed = await calls.list_participants(cid)
    await calls.hang_up(cid, is_for_everyone=False)

    assert props.call_connection_state == "connecting"
    assert [p.identifier.raw_id for p in listed if p.identifier] == [m.raw_id for m in members[:2]]
    with pytest.raises(ResourceNotFoundError):
        await calls.get_call_properties(cid)


@pytest.mark.parametrize("emulator_config", [SLOW_CONNECT], ids=["slow-connect"])
async def test_terminate_while_connecting_ends_the_call(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    cid, _ = await connecting_call(emulator, calls, sink)

    await calls.hang_up(cid, is_for_everyone=True)

    await sink.wait_for(received("/bot", "CallDisconnected"))
    assert names(sink, "/bot") == ["CallDisconnected"]


async def test_a_play_sent_right_after_connect_plays_only_after_call_connected(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    cid, _ = await connecting_call(emulator, calls, sink)
    refusals: list[tuple[int | None, str | None]] = []

    # As an app that retries 8501 would: every attempt before CallConnected is refused.
    while True:
        try:
            await on_connection(calls, cid, "play_media", HELLO, operation_context="early")
            break
        except HttpResponseError as exc:
            refusals.append(acs_error(exc))
            # Anything but "not established" would never go away: fail instead of looping.
            assert refusals[-1] == (400, "8501"), refusals
            await asyncio.sleep(0.005)

    assert set(refusals) <= {(400, "8501")}
    await sink.wait_for(received("/bot", "PlayCompleted"))
    order = names(sink, "/bot")
    assert order.index("CallConnected") < order.index("PlayStarted") < order.index("PlayCompleted")
