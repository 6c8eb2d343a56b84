"""Simulated phones: their control API, and how a dialled phone answers through the official SDK."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import PhoneNumberIdentifier

from emulator.keys import INVITATIONS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    CallbackKeys,
    check_callbacks,
    control,
    events_named,
    names,
    parse_callback_event,
    raw_ids,
    received,
    settle,
)
from tests.conformance.media_helpers import Media
from tests.conformance.participant_helpers import (
    CALLER_ID,
    invitations,
    live_call,
    participants_of,
    phone_ids,
    room_call,
    set_phone,
    subscribe_event_grid,
)
from tests.support.callback_sink import CallbackSink

NUMBER = "+14255550123"
PHONE = PhoneNumberIdentifier(NUMBER)


async def test_a_phone_behaves_by_default_until_scripted_and_a_delete_resets_it(
    emulator: RunningEmulator,
) -> None:
    default = {"phoneNumber": NUMBER, "answer": "accept", "answerAfterSeconds": 1.0, "dtmf": []}
    assert (await control(emulator, "GET", f"/emulator/phones/{NUMBER}")).body == default

    script = {"answer": "accept", "answerAfterSeconds": 3, "dtmf": [{"afterSeconds": 2, "tones": "1#"}]}
    stored = await set_phone(emulator, NUMBER, **script)

    assert stored.body == {"phoneNumber": NUMBER, **script}
    # The number may come URL-encoded.
    assert (await control(emulator, "GET", "/emulator/phones/%2B14255550123")).body == stored.body
    deleted = await control(emulator, "DELETE", f"/emulator/phones/{NUMBER}")
    assert deleted.status == 204
    assert (await control(emulator, "GET", f"/emulator/phones/{NUMBER}")).body == default


@pytest.mark.parametrize("number", ["14255550123", "+1425555", "+1 425 555 0123", "+99912345678", "tel"])
async def test_a_number_that_is_not_valid_e164_is_refused(emulator: RunningEmulator, number: str) -> None:
    answer = await control(emulator, "PUT", f"/emulator/phones/{number}", {"answer": "busy"})

    assert answer.status == 400
    assert answer.body["error"]["code"] == "BadRequest"
    assert answer.body["error"]["target"] == "number"


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"answer": "maybe"}, "answer"),
        ({"answerAfterSeconds": -1}, "answerAfterSeconds"),
        ({"answerAfterSeconds": "1"}, "answerAfterSeconds"),
        ({"answerAfterSeconds": True}, "answerAfterSeconds"),
        ({"dtmf": "1"}, "dtmf"),
        ({"dtmf": [{"afterSeconds": 1, "tones": "x"}]}, "dtmf[0].tones"),
        ({"dtmf": [{"afterSeconds": 1}]}, "dtmf[0].tones"),
        ({"dtmf": [{"afterSeconds": -2, "tones": "1"}]}, "dtmf[0].afterSeconds"),
        ({"dtmf": [{"tones": "1", "when": 2}]}, "dtmf[0]"),
        ({"ringtone": "classic"}, "ringtone"),
        ([], None),
    ],
)
async def test_a_bad_behaviour_is_refused_and_the_old_one_kept(
    emulator: RunningEmulator, body: Any, target: str | None
) -> None:
    await set_phone(emulator, NUMBER, answer="busy")

    answer = await control(emulator, "PUT", f"/emulator/phones/{NUMBER}", body)

    assert answer.status == 400
    assert answer.body["error"].get("target") == target
    assert (await control(emulator, "GET", f"/emulator/phones/{NUMBER}")).body["answer"] == "busy"


async def test_tones_may_be_given_as_key_words(emulator: RunningEmulator) -> None:
    stored = await set_phone(emulator, NUMBER, dtmf=[{"afterSeconds": 1, "tones": ["one", "pound"]}])

    assert stored.body["dtmf"] == [{"afterSeconds": 1.0, "tones": ["one", "pound"]}]


async def test_an_accepting_phone_joins_as_a_phone_number_without_a_role(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    await subscribe_event_grid(emulator, sink, "/eventgrid")
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)

    result = await participants.add(
        live.connection_id, PHONE, source_caller_id_number=CALLER_ID, operation_context="dialout:1"
    )

    assert result.invitation_id
    assert result.operation_context == "dialout:1"
    assert result.participant is not None
    assert raw_ids([result.participant]) == [f"4:{NUMBER}"]
    await sink.wait_for(received("/bot", "ParticipantsUpdated", 2))
    await settle(emulator)
    check_callbacks(sink, keys, emulator.config.resource_id, "/bot")
    assert names(sink, "/bot") == [
        "CallConnected",
        "ParticipantsUpdated",
        "AddParticipantSucceeded",
        "ParticipantsUpdated",
    ]
    _, succeeded = parse_callback_event(events_named(sink, "/bot", "AddParticipantSucceeded")[0])
    assert succeeded.operation_context == "dialout:1"
    assert succeeded.participant.raw_id == f"4:{NUMBER}"
    assert succeeded.participant.phone_number.value == NUMBER
    assert (succeeded.result_information.code, succeeded.result_information.sub_code) == (200, 0)
    _, updated = parse_callback_event(events_named(sink, "/bot", "ParticipantsUpdated")[-1])
    assert [p.identifier.raw_id for p in updated.participants] == [live.members[0], f"4:{NUMBER}"]
    assert raw_ids(await calls.list_participants(live.connection_id)) == [live.members[0], f"4:{NUMBER}"]
    phone = next(
        p for p in (await room_call(emulator, live.room_id))["participants"] if p["kind"] == "phoneNumber"
    )
    assert phone == {
        "rawId": f"4:{NUMBER}",
        "kind": "phoneNumber",
        "role": None,
        "state": "connected",
        "isMuted": False,
    }
    (invitation,) = await invitations(emulator, live.room_id)
    assert invitation["invitationId"] == result.invitation_id
    assert invitation["state"] == "answered"
    assert invitation["sourceCallerIdNumber"] == CALLER_ID.raw_id.removeprefix("4:")
    # Event Grid reports the room member who started the call, never the phone.
    subjects = [e["subject"] for e in sink.events("/eventgrid") if "subject" in e]
    assert subjects
    assert not [s for s in subjects if NUMBER in s]


FAILURES = {
    "busy": (486, 560486, 486, 17),
    "decline": (603, 560603, 603, 21),
    "noAnswer": (408, 560408, 408, 19),
}


@pytest.mark.parametrize("answer", list(FAILURES))
async def test_a_phone_that_does_not_answer_fails_the_add_with_the_pstn_codes(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys, answer: str
) -> None:
    await set_phone(emulator, NUMBER, answer=answer, answerAfterSeconds=1)
    live = await live_call(emulator, calls, sink)

    result = await participants_of(calls).add(
        live.connection_id,
        PHONE,
        source_caller_id_number=CALLER_ID,
        operation_context="try",
        invitation_timeout=3,
    )

    await sink.wait_for(received("/bot", "AddParticipantFailed"))
    await emulator.app[INVITATIONS].drain()
    await settle(emulator)
    check_callbacks(sink, keys, emulator.config.resource_id, "/bot")
    assert names(sink, "/bot") == ["CallConnected", "ParticipantsUpdated", "AddParticipantFailed"]
    _, failed = parse_callback_event(events_named(sink, "/bot", "AddParticipantFailed")[0])
    info = failed.result_information
    code, sub_code, sip, q850 = FAILURES[answer]
    assert (info.code, info.sub_code, info.sip_details.code, info.q850_details.code) == (
        code,
        sub_code,
        sip,
        q850,
    )
    assert info.message
    assert info.sip_details.message
    assert info.q850_details.message
    assert failed.operation_context == "try"
    assert failed.participant.raw_id == f"4:{NUMBER}"
    assert phone_ids(await room_call(emulator, live.room_id)) == []
    (invitation,) = await invitations(emulator, live.room_id)
    assert (invitation["invitationId"], invitation["state"]) == (result.invitation_id, "failed")
    assert invitation["resultInformation"]["subCode"] == sub_code


async def test_a_phone_slower_than_the_invitation_timeout_counts_as_no_answer(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await set_phone(emulator, NUMBER, answer="accept", answerAfterSeconds=20)
    live = await live_call(emulator, calls, sink)

    await participants_of(calls).add(
        live.connection_id, PHONE, source_caller_id_number=CALLER_ID, invitation_timeout=2
    )

    await sink.wait_for(received("/bot", "AddParticipantFailed"))
    await emulator.app[INVITATIONS].drain()
    _, failed = parse_callback_event(events_named(sink, "/bot", "AddParticipantFailed")[0])
    assert failed.result_information.code == 408
    assert phone_ids(await room_call(emulator, live.room_id)) == []


async def test_a_behaviour_applies_to_calls_that_ring_after_it_was_set(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await set_phone(emulator, NUMBER, answer="busy")
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)
    await participants.add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)
    await sink.wait_for(received("/bot", "AddParticipantFailed"))

    await control(emulator, "DELETE", f"/emulator/phones/{NUMBER}")
    await participants.add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)

    await sink.wait_for(received("/bot", "AddParticipantSucceeded"))
    assert phone_ids(await room_call(emulator, live.room_id)) == [f"4:{NUMBER}"]
    assert [i["state"] for i in await invitations(emulator, live.room_id)] == ["failed", "answered"]


async def test_scripted_key_presses_after_the_answer_reach_a_recognize(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    # The keys come 100 simulated seconds after the answer, well after the recognize below
    # starts, and within its 300 seconds of initial silence.
    await set_phone(emulator, NUMBER, dtmf=[{"afterSeconds": 100, "tones": "1"}])
    live = await live_call(emulator, calls, sink)
    await participants_of(calls).add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)
    await sink.wait_for(received("/bot", "AddParticipantSucceeded"))

    await Media(calls, live.connection_id).recognize(
        f"4:{NUMBER}", dtmf_max_tones_to_collect=1, initial_silence_timeout=300, operation_context="menu"
    )

    await sink.wait_for(received("/bot", "RecognizeCompleted"))
    check_callbacks(sink, keys, emulator.config.resource_id, "/bot")
    _, completed = parse_callback_event(events_named(sink, "/bot", "RecognizeCompleted")[0])
    assert completed.operation_context == "menu"
    assert completed.dtmf_result.tones == ["one"]
