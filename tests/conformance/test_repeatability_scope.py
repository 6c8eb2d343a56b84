"""A Repeatability-Request-ID is remembered per operation: the same id on another operation is
that operation's own request (official SDK, sync and async)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from azure.communication.callautomation import CommunicationUserIdentifier, PhoneNumberIdentifier

from emulator.server import RunningEmulator
from tests.conformance.call_helpers import CallAutomationApi, control, events_named, join, received
from tests.conformance.conftest import rfc1123
from tests.conformance.participant_helpers import (
    CALLER_ID,
    invitations,
    live_call,
    participants_of,
    room_call,
)
from tests.conformance.review_helpers import on_connection
from tests.support.callback_sink import CallbackSink


def repeatability_headers() -> dict[str, str]:
    return {
        "Repeatability-Request-ID": str(uuid.uuid4()),
        "Repeatability-First-Sent": rfc1123(datetime.now(UTC)),
    }


async def test_an_id_reused_on_another_operation_performs_that_operation(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink, roles=("Presenter", "Attendee"))
    await join(emulator, live.room_id, live.members[1])
    participants = participants_of(calls)
    headers = repeatability_headers()

    added = await participants.add(
        live.connection_id,
        PhoneNumberIdentifier("+14255550177"),
        source_caller_id_number=CALLER_ID,
        headers=headers,
    )
    removed = await participants.remove(
        live.connection_id,
        CommunicationUserIdentifier(live.members[1]),
        operation_context="bye",
        headers=headers,
    )

    assert added.invitation_id
    assert removed.operation_context == "bye"
    await sink.wait_for(received("/bot", "RemoveParticipantSucceeded"))
    view = await room_call(emulator, live.room_id)
    assert live.members[1] not in [p["rawId"] for p in view["participants"]]
    assert len(await invitations(emulator, live.room_id)) == 1

    await on_connection(calls, live.connection_id, "hang_up", is_for_everyone=True, headers=headers)

    await sink.wait_for(received("/bot", "CallDisconnected"))
    assert (await control(emulator, "GET", f"/emulator/rooms/{live.room_id}/call")).status == 404


async def test_the_same_id_on_the_same_operation_is_still_answered_once(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)
    headers = repeatability_headers()
    phone = PhoneNumberIdentifier("+14255550178")

    first = await participants.add(
        live.connection_id, phone, source_caller_id_number=CALLER_ID, headers=headers
    )
    again = await participants.add(
        live.connection_id, phone, source_caller_id_number=CALLER_ID, headers=headers
    )

    assert first.invitation_id == again.invitation_id
    assert len(await invitations(emulator, live.room_id)) == 1
    await sink.wait_for(received("/bot", "AddParticipantSucceeded"))
    assert len(events_named(sink, "/bot", "AddParticipantSucceeded")) == 1
