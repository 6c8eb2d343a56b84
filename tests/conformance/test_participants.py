"""participants:add, :remove, :cancelAddParticipant and :mute through the official SDK."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from azure.communication.callautomation import CommunicationUserIdentifier, PhoneNumberIdentifier
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from emulator.keys import INVITATIONS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    CallbackKeys,
    audience,
    check_callbacks,
    control,
    events_named,
    join,
    names,
    parse_callback_event,
    received,
    settle,
)
from tests.conformance.conftest import new_user_id, rfc1123
from tests.conformance.participant_helpers import (
    CALLER_ID,
    error_of,
    invitation_of,
    invitations,
    live_call,
    participants_of,
    phone_ids,
    room_call,
    set_phone,
)
from tests.support.callback_sink import CallbackSink

NUMBER = "+14255550123"
PHONE = PhoneNumberIdentifier(NUMBER)


async def test_a_roster_member_added_by_the_app_joins_with_their_role(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    live = await live_call(emulator, calls, sink)
    attendee = live.members[1]

    result = await participants_of(calls).add(
        live.connection_id, CommunicationUserIdentifier(attendee), operation_context="invite"
    )

    assert result.invitation_id
    await sink.wait_for(received("/bot", "ParticipantsUpdated", 2))
    check_callbacks(sink, keys, audience(emulator), "/bot")
    _, succeeded = parse_callback_event(events_named(sink, "/bot", "AddParticipantSucceeded")[0])
    assert succeeded.participant.communication_user.id == attendee
    assert succeeded.operation_context == "invite"
    view = await room_call(emulator, live.room_id)
    assert [(p["rawId"], p["role"]) for p in view["participants"]] == [
        (live.members[0], "Presenter"),
        (attendee, "Attendee"),
    ]


async def test_a_user_off_the_roster_or_of_another_resource_is_refused(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)

    with pytest.raises(HttpResponseError) as off_roster:
        await participants.add(live.connection_id, CommunicationUserIdentifier(new_user_id()))
    with pytest.raises(HttpResponseError) as foreign:
        await participants.add(
            live.connection_id, CommunicationUserIdentifier(new_user_id(str(uuid.uuid4())))
        )

    assert off_roster.value.status_code == 403
    assert (foreign.value.status_code, error_of(foreign.value).code) == (403, "7507")
    assert await invitations(emulator, live.room_id) == []


async def test_a_phone_needs_a_caller_id_and_a_valid_number(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)

    with pytest.raises(HttpResponseError) as no_caller_id:
        await participants.add(live.connection_id, PHONE)
    with pytest.raises(HttpResponseError) as bad_caller_id:
        await participants.add(
            live.connection_id, PHONE, source_caller_id_number=PhoneNumberIdentifier("555")
        )
    with pytest.raises(HttpResponseError) as bad_number:
        await participants.add(
            live.connection_id, PhoneNumberIdentifier("+1425"), source_caller_id_number=CALLER_ID
        )
    with pytest.raises(HttpResponseError) as long_timeout:
        await participants.add(
            live.connection_id, PHONE, source_caller_id_number=CALLER_ID, invitation_timeout=181
        )

    for refused, target in [
        (no_caller_id, "sourceCallerIdNumber"),
        (bad_caller_id, "sourceCallerIdNumber"),
        (bad_number, "participantToAdd"),
        (long_timeout, "invitationTimeoutInSeconds"),
    ]:
        assert (refused.value.status_code, error_of(refused.value).code) == (400, "8523")
        assert error_of(refused.value).target == target
    assert await invitations(emulator, live.room_id) == []


async def test_a_room_without_pstn_dial_out_refuses_a_phone(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink, dial_out=False)

    with pytest.raises(HttpResponseError) as refused:
        await participants_of(calls).add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)

    assert (refused.value.status_code, error_of(refused.value).code) == (403, "PstnDialOutDisabled")
    assert "pstnDialOutEnabled" in str(error_of(refused.value).message)
    assert await invitations(emulator, live.room_id) == []


async def test_adding_someone_already_in_the_call_is_a_conflict(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)

    with pytest.raises(ResourceExistsError) as conflict:
        await participants_of(calls).add(live.connection_id, CommunicationUserIdentifier(live.members[0]))

    assert error_of(conflict.value).code == "8519"


async def test_the_events_of_an_add_go_to_its_own_callback_uri_when_it_names_one(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    live = await live_call(emulator, calls, sink)

    await participants_of(calls).add(
        live.connection_id,
        PHONE,
        source_caller_id_number=CALLER_ID,
        operation_callback_url=sink.url("/dialout"),
    )

    await sink.wait_for(received("/dialout", "AddParticipantSucceeded"))
    await sink.wait_for(received("/bot", "ParticipantsUpdated", 2))
    await settle(emulator)
    check_callbacks(sink, keys, audience(emulator))
    assert names(sink, "/dialout") == ["AddParticipantSucceeded"]
    assert "AddParticipantSucceeded" not in names(sink, "/bot")


async def test_cancel_while_ringing_stops_the_invitation_and_the_phone_never_joins(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    # Rings for a real second at the test time scale: the next request lands well before.
    await set_phone(emulator, NUMBER, answer="accept", answerAfterSeconds=50)
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)
    added = await participants.add(
        live.connection_id, PHONE, source_caller_id_number=CALLER_ID, operation_context="dial"
    )

    cancelled = await participants.cancel(live.connection_id, invitation_of(added), operation_context="stop")

    assert cancelled.invitation_id == added.invitation_id
    assert cancelled.operation_context == "stop"
    await sink.wait_for(received("/bot", "CancelAddParticipantSucceeded"))
    await emulator.app[INVITATIONS].drain()
    await settle(emulator)
    check_callbacks(sink, keys, audience(emulator), "/bot")
    # As the recorded live test shows: the cancel's event and nothing for the add.
    assert names(sink, "/bot")[2:] == ["CancelAddParticipantSucceeded"]
    _, success = parse_callback_event(events_named(sink, "/bot", "CancelAddParticipantSucceeded")[0])
    assert (success.invitation_id, success.operation_context) == (added.invitation_id, "stop")
    assert phone_ids(await room_call(emulator, live.room_id)) == []
    (invitation,) = await invitations(emulator, live.room_id)
    assert (invitation["state"], invitation["resultInformation"]["code"]) == ("cancelled", 487)


async def test_cancel_after_the_answer_or_of_an_unknown_invitation_fails(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)
    added = await participants.add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)
    await sink.wait_for(received("/bot", "AddParticipantSucceeded"))

    await participants.cancel(live.connection_id, invitation_of(added), operation_context="late")
    await participants.cancel(live.connection_id, str(uuid.uuid4()), operation_context="unknown")

    await sink.wait_for(received("/bot", "CancelAddParticipantFailed", 2))
    check_callbacks(sink, keys, audience(emulator), "/bot")
    outcomes = {
        model.operation_context: (model.invitation_id, model.result_information.code)
        for model in (
            parse_callback_event(e)[1] for e in events_named(sink, "/bot", "CancelAddParticipantFailed")
        )
    }
    assert outcomes["late"] == (added.invitation_id, 400)
    assert outcomes["unknown"][1] == 404
    assert phone_ids(await room_call(emulator, live.room_id)) == [f"4:{NUMBER}"]


async def test_remove_takes_a_phone_out_of_the_call(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)
    await participants.add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)
    await sink.wait_for(received("/bot", "ParticipantsUpdated", 2))

    removed = await participants.remove(live.connection_id, PHONE, operation_context="bye")

    assert removed.operation_context == "bye"
    await sink.wait_for(received("/bot", "ParticipantsUpdated", 3))
    check_callbacks(sink, keys, audience(emulator), "/bot")
    assert names(sink, "/bot")[-2:] == ["RemoveParticipantSucceeded", "ParticipantsUpdated"]
    _, succeeded = parse_callback_event(events_named(sink, "/bot", "RemoveParticipantSucceeded")[0])
    assert (succeeded.participant.raw_id, succeeded.operation_context) == (f"4:{NUMBER}", "bye")
    _, updated = parse_callback_event(events_named(sink, "/bot", "ParticipantsUpdated")[-1])
    assert [p.identifier.raw_id for p in updated.participants] == [live.members[0]]
    assert phone_ids(await room_call(emulator, live.room_id)) == []


async def test_removing_someone_not_in_the_call_is_not_found(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)

    with pytest.raises(ResourceNotFoundError) as missing:
        await participants_of(calls).remove(live.connection_id, PHONE)

    assert error_of(missing.value).code == "8522"


async def test_mute_mutes_a_user_and_refuses_a_phone(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)
    await participants.add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)
    await sink.wait_for(received("/bot", "ParticipantsUpdated", 2))

    muted = await participants.mute(
        live.connection_id, CommunicationUserIdentifier(live.members[0]), operation_context="hush"
    )
    with pytest.raises(HttpResponseError) as phone:
        await participants.mute(live.connection_id, PHONE)

    assert muted.operation_context == "hush"
    assert (phone.value.status_code, error_of(phone.value).code) == (400, "8523")
    await sink.wait_for(received("/bot", "ParticipantsUpdated", 3))
    _, updated = parse_callback_event(events_named(sink, "/bot", "ParticipantsUpdated")[-1])
    assert [(p.identifier.raw_id, p.is_muted) for p in updated.participants] == [
        (live.members[0], True),
        (f"4:{NUMBER}", False),
    ]


async def test_a_repeated_repeatability_id_rings_once_and_answers_the_first_result(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)
    request_id = str(uuid.uuid4())
    headers = {"Repeatability-Request-ID": request_id, "Repeatability-First-Sent": rfc1123(datetime.now(UTC))}

    first = await participants.add(
        live.connection_id,
        PHONE,
        source_caller_id_number=CALLER_ID,
        operation_context="once",
        headers=dict(headers),
    )
    again = await participants.add(
        live.connection_id,
        PHONE,
        source_caller_id_number=CALLER_ID,
        operation_context="once",
        headers=dict(headers),
    )

    assert again.invitation_id == first.invitation_id
    await sink.wait_for(received("/bot", "AddParticipantSucceeded"))
    await emulator.app[INVITATIONS].drain()
    await settle(emulator)
    assert len(events_named(sink, "/bot", "AddParticipantSucceeded")) == 1
    assert len(await invitations(emulator, live.room_id)) == 1
    assert phone_ids(await room_call(emulator, live.room_id)) == [f"4:{NUMBER}"]
    logged = [
        e for e in (await control(emulator, "GET", "/emulator/requests")).body if e["path"].endswith(":add")
    ]
    assert [(e["status"], e["repeatabilityRequestId"]) for e in logged] == [(202, request_id)] * 2
    assert logged[0]["body"]["participantToAdd"]["rawId"] == f"4:{NUMBER}"
    assert logged[0]["body"]["sourceCallerIdNumber"] == {"value": CALLER_ID.properties["value"]}


async def test_participant_actions_on_an_unknown_connection_are_not_found(
    emulator: RunningEmulator, calls: CallAutomationApi
) -> None:
    with pytest.raises(ResourceNotFoundError):
        await participants_of(calls).add(str(uuid.uuid4()), PHONE, source_caller_id_number=CALLER_ID)


async def test_a_phone_ringing_when_the_call_ends_never_joins(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    # Rings for a real second at the test time scale: the next request lands well before.
    await set_phone(emulator, NUMBER, answer="accept", answerAfterSeconds=50)
    live = await live_call(emulator, calls, sink)
    await participants_of(calls).add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)

    await calls.hang_up(live.connection_id, is_for_everyone=True)
    await emulator.app[INVITATIONS].drain()
    await settle(emulator)

    assert names(sink, "/bot")[-1] == "CallDisconnected"
    (invitation,) = await invitations(emulator, live.room_id)
    assert invitation["state"] == "failed"
    # The room's next call starts empty of phones.
    await join(emulator, live.room_id, live.members[0])
    assert phone_ids(await room_call(emulator, live.room_id)) == []
