"""Callback bodies as ACS posts them, parsed into typed events; malformed bodies refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from bot import events as ev
from bot.events import EventParseError, parse_callback_body

CALL_ID = "401f3500-62bd-46a9-8c09-9e1b06caca01"
SERVER_CALL_ID = "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkuc2t5cGUuY29tL2FwaS92Mi9jcC9jb252LXVzd2UtMDk="
CORRELATION_ID = "d4f4c1be-59d8-4850-b9bf-ee564c15839d"
DOCTOR = {
    "rawId": "8:acs:1bdaa2b9-9507-4542-bb64-a7b22c00a8d4_00000020-0000-0000-0000-000000000001",
    "kind": "communicationUser",
    "communicationUser": {
        "id": "8:acs:1bdaa2b9-9507-4542-bb64-a7b22c00a8d4_00000020-0000-0000-0000-000000000001"
    },
}
PHONE = {"rawId": "4:+14255550123", "kind": "phoneNumber", "phoneNumber": {"value": "+14255550123"}}


def cloud_event(event_type: str, data: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """One element of a callback body, with the common data fields ACS always sends."""
    body: dict[str, Any] = {
        "callConnectionId": CALL_ID,
        "serverCallId": SERVER_CALL_ID,
        "correlationId": CORRELATION_ID,
        **(data or {}),
    }
    element = {
        "id": f"evt-{event_type}",
        "source": f"calling/callConnections/{CALL_ID}",
        "type": f"Microsoft.Communication.{event_type}",
        "data": body,
        "time": "2025-06-01T09:00:01.1234567+00:00",
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "subject": f"calling/callConnections/{CALL_ID}",
    }
    element.update(overrides)
    return element


def parse_one(element: dict[str, Any]) -> ev.CallEvent:
    parsed = parse_callback_body([element])
    assert len(parsed) == 1
    return parsed[0]


def result(code: int, sub_code: int, message: str) -> dict[str, Any]:
    return {"resultInformation": {"code": code, "subCode": sub_code, "message": message}}


def test_call_connected_carries_the_common_fields() -> None:
    event = parse_one(
        cloud_event("CallConnected", {"operationContext": "roombot:connect", **result(200, 0, "")})
    )

    assert isinstance(event, ev.CallConnected)
    assert event.id == "evt-CallConnected"
    assert event.type == "CallConnected"
    assert event.source == f"calling/callConnections/{CALL_ID}"
    assert event.time == datetime(2025, 6, 1, 9, 0, 1, 123456, tzinfo=UTC)
    assert event.call_connection_id == CALL_ID
    assert event.server_call_id == SERVER_CALL_ID
    assert event.correlation_id == CORRELATION_ID
    assert event.operation_context == "roombot:connect"
    assert event.result == ev.ResultInformation(code=200, sub_code=0, message="")
    assert event.data["callConnectionId"] == CALL_ID


@pytest.mark.parametrize(
    ("event_type", "model"),
    [
        ("CallConnected", ev.CallConnected),
        ("CallDisconnected", ev.CallDisconnected),
        ("ConnectFailed", ev.ConnectFailed),
        ("PlayStarted", ev.PlayStarted),
        ("PlayCompleted", ev.PlayCompleted),
        ("PlayCanceled", ev.PlayCanceled),
        ("RecognizeFailed", ev.RecognizeFailed),
        ("RecognizeCanceled", ev.RecognizeCanceled),
        ("ContinuousDtmfRecognitionToneFailed", ev.ContinuousDtmfRecognitionToneFailed),
        ("ContinuousDtmfRecognitionStopped", ev.ContinuousDtmfRecognitionStopped),
        ("SendDtmfTonesCompleted", ev.SendDtmfTonesCompleted),
        ("SendDtmfTonesFailed", ev.SendDtmfTonesFailed),
    ],
)
def test_events_without_extra_fields_map_to_their_model(event_type: str, model: type[ev.CallEvent]) -> None:
    event = parse_one(cloud_event(event_type, {"operationContext": "menus:abc", **result(400, 8510, "x")}))

    assert type(event) is model
    assert event.type == event_type
    assert event.operation_context == "menus:abc"
    assert event.result is not None
    assert event.result.sub_code == 8510


def test_participants_updated_lists_every_participant() -> None:
    data = {
        "sequenceNumber": 4,
        "participants": [
            {"identifier": DOCTOR, "isMuted": False, "isOnHold": False},
            {"identifier": PHONE, "isMuted": True, "isOnHold": True},
            # ACS does not always send `kind` in callbacks: it is derived from the raw id.
            {"identifier": {"rawId": "28:acs:bot-app-id"}, "isMuted": False},
        ],
    }
    event = parse_one(cloud_event("ParticipantsUpdated", data))

    assert isinstance(event, ev.ParticipantsUpdated)
    assert event.sequence_number == 4
    assert event.participants == [
        ev.ParticipantInfo(
            raw_id=DOCTOR["rawId"], kind="communicationUser", is_muted=False, is_on_hold=False
        ),
        ev.ParticipantInfo(raw_id="4:+14255550123", kind="phoneNumber", is_muted=True, is_on_hold=True),
        ev.ParticipantInfo(raw_id="28:acs:bot-app-id", kind="microsoftTeamsApp"),
    ]


def test_an_identifier_without_raw_id_gets_one_from_its_parts() -> None:
    data = {
        "sequenceNumber": 1,
        "participants": [
            {"identifier": {"phoneNumber": {"value": "+442071234567"}}},
            {"identifier": {"communicationUser": {"id": "8:acs:res_user"}}},
            {"identifier": {"somethingNew": {}}},
        ],
    }
    event = parse_one(cloud_event("ParticipantsUpdated", data))

    assert isinstance(event, ev.ParticipantsUpdated)
    assert [(p.raw_id, p.kind) for p in event.participants] == [
        ("4:+442071234567", "phoneNumber"),
        ("8:acs:res_user", "communicationUser"),
    ]


@pytest.mark.parametrize(
    ("event_type", "model"),
    [
        ("AddParticipantSucceeded", ev.AddParticipantSucceeded),
        ("AddParticipantFailed", ev.AddParticipantFailed),
        ("RemoveParticipantSucceeded", ev.RemoveParticipantSucceeded),
        ("RemoveParticipantFailed", ev.RemoveParticipantFailed),
    ],
)
def test_participant_results_name_the_participant(event_type: str, model: type[ev.CallEvent]) -> None:
    data = {
        "participant": PHONE,
        "operationContext": "dialout:d1",
        **result(408, 10004, "Call not answered."),
    }
    event = parse_one(cloud_event(event_type, data))

    assert type(event) is model
    assert isinstance(event, ev.ParticipantResultEvent)
    assert event.participant_raw_id == "4:+14255550123"
    assert event.operation_context == "dialout:d1"
    assert event.result == ev.ResultInformation(code=408, sub_code=10004, message="Call not answered.")


@pytest.mark.parametrize(
    ("event_type", "model"),
    [
        ("CancelAddParticipantSucceeded", ev.CancelAddParticipantSucceeded),
        ("CancelAddParticipantFailed", ev.CancelAddParticipantFailed),
    ],
)
def test_cancel_add_results_carry_the_invitation(event_type: str, model: type[ev.CallEvent]) -> None:
    event = parse_one(cloud_event(event_type, {"invitationId": "inv-42", "operationContext": "dialout:d1"}))

    assert type(event) is model
    assert isinstance(event, ev.InvitationResultEvent)
    assert event.invitation_id == "inv-42"


def test_play_failed_keeps_the_failing_source() -> None:
    data = {"failedPlaySourceIndex": 1, **result(400, 8536, "Action failed, file could not be downloaded.")}
    event = parse_one(cloud_event("PlayFailed", data))

    assert isinstance(event, ev.PlayFailed)
    assert event.failed_play_source_index == 1
    assert event.result is not None
    assert event.result.sub_code == 8536


def test_recognize_completed_with_dtmf_tones() -> None:
    data = {
        "recognitionType": "dtmf",
        "dtmfResult": {"tones": ["one", "two", "pound"]},
        "operationContext": "menus:interpreter-confirm",
        **result(200, 8514, "Action completed, stop tone detected."),
    }
    event = parse_one(cloud_event("RecognizeCompleted", data))

    assert isinstance(event, ev.RecognizeCompleted)
    assert event.recognition_type == "dtmf"
    assert event.tones == ["one", "two", "pound"]
    assert event.choice_label is None


def test_recognize_completed_with_a_choice() -> None:
    data = {
        "recognitionType": "choices",
        "choiceResult": {"label": "accept", "recognizedPhrase": "one"},
        **result(200, 8533, "Action completed, DTMF option matched."),
    }
    event = parse_one(cloud_event("RecognizeCompleted", data))

    assert isinstance(event, ev.RecognizeCompleted)
    assert event.choice_label == "accept"
    assert event.tones == []


def test_continuous_dtmf_tone_received() -> None:
    event = parse_one(
        cloud_event("ContinuousDtmfRecognitionToneReceived", {"tone": "asterisk", "sequenceId": 3})
    )

    assert isinstance(event, ev.ContinuousDtmfRecognitionToneReceived)
    assert event.tone == "asterisk"
    assert event.sequence_id == 3


def test_recording_state_changed() -> None:
    event = parse_one(cloud_event("RecordingStateChanged", {"recordingId": "rec-1", "state": "inactive"}))

    assert isinstance(event, ev.RecordingStateChanged)
    assert (event.recording_id, event.state) == ("rec-1", "inactive")


@pytest.mark.parametrize("event_type", ["MediaStreamingStarted", "HoldFailed", "TranscriptionStarted"])
def test_unmodelled_acs_types_are_kept_as_unknown_events(event_type: str) -> None:
    event = parse_one(cloud_event(event_type, {"state": "active", "operationContext": "x"}))

    assert type(event) is ev.UnknownEvent
    assert event.type == event_type
    assert event.call_connection_id == CALL_ID
    assert event.operation_context == "x"
    assert event.data["state"] == "active"


def test_a_foreign_type_is_kept_whole() -> None:
    event = parse_one(cloud_event("x", type="Contoso.Custom.Thing"))

    assert type(event) is ev.UnknownEvent
    assert event.type == "Contoso.Custom.Thing"


def test_the_call_connection_id_falls_back_to_the_source() -> None:
    element = cloud_event("PlayCompleted")
    del element["data"]["callConnectionId"]

    assert parse_one(element).call_connection_id == CALL_ID


def test_optional_cloud_event_fields_may_be_missing() -> None:
    event = parse_one({"id": "e1", "type": "Microsoft.Communication.CallConnected", "data": {}})

    assert event.time is None
    assert event.source == ""
    assert event.call_connection_id == ""
    assert event.result is None


def test_a_body_keeps_every_event_in_order() -> None:
    body = [
        cloud_event("CallConnected", id="a"),
        cloud_event("ParticipantsUpdated", {"sequenceNumber": 1, "participants": []}, id="b"),
        cloud_event("SomethingNew", id="c"),
    ]
    parsed = parse_callback_body(body)

    assert [(e.id, e.type) for e in parsed] == [
        ("a", "CallConnected"),
        ("b", "ParticipantsUpdated"),
        ("c", "SomethingNew"),
    ]
    assert parse_callback_body([]) == []


def test_events_are_frozen() -> None:
    event = parse_one(cloud_event("CallConnected"))
    with pytest.raises(ValidationError):
        event.call_connection_id = "other"  # type: ignore[misc]  # the assignment must fail


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"id": "e1"}, "must be a JSON array of CloudEvents, got an object"),
        ("[]", "got a string"),
        (None, "got null"),
        ([42], "event 0: expected a JSON object, got a number"),
        ([cloud_event("CallConnected"), ["nested"]], "event 1: expected a JSON object, got an array"),
        (
            [{"type": "Microsoft.Communication.CallConnected", "data": {}}],
            "event 0: missing or empty string field 'id'",
        ),
        ([{"id": "", "type": "Microsoft.Communication.CallConnected", "data": {}}], "field 'id'"),
        ([{"id": 7, "type": "Microsoft.Communication.CallConnected", "data": {}}], "field 'id'"),
        ([{"id": "e1", "data": {}}], "event 0: missing or empty string field 'type'"),
        (
            [{"id": "e1", "type": "Microsoft.Communication.CallConnected"}],
            "event 0 (e1): field 'data' must be",
        ),
        (
            [{"id": "e1", "type": "Microsoft.Communication.CallConnected", "data": "x"}],
            "field 'data' must be",
        ),
        ([{"id": "e1", "type": "", "data": {}}], "event 0: missing or empty string field 'type'"),
        ([{"id": "e1", "type": "Microsoft.Communication.PlayCompleted", "data": None}], "'data' must be"),
        ([{"id": "e1", "type": "Microsoft.Communication.PlayCompleted", "data": []}], "'data' must be"),
    ],
)
def test_malformed_bodies_are_refused_with_a_clear_message(payload: object, message: str) -> None:
    with pytest.raises(EventParseError) as raised:
        parse_callback_body(payload)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        ("ParticipantsUpdated", {"sequenceNumber": "not-a-number"}, "sequence_number"),
        ("RecognizeCompleted", {"dtmfResult": {"tones": [1, 2]}}, "tones"),
        ("CallConnected", {"resultInformation": {"code": "abc"}}, "result.code"),
    ],
)
def test_a_known_event_with_a_mistyped_field_names_the_field(
    event_type: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(EventParseError) as raised:
        parse_callback_body([cloud_event(event_type, data, id="bad-1")])
    assert "event 0 (bad-1" in str(raised.value)
    assert field in str(raised.value)


def test_a_bad_time_is_refused() -> None:
    with pytest.raises(EventParseError, match="time"):
        parse_callback_body([cloud_event("CallConnected", time="yesterday")])


def test_parse_errors_are_value_errors() -> None:
    assert issubclass(EventParseError, ValueError)
