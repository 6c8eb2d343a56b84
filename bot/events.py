"""Typed models of the Call Automation callback events ACS posts to the bot.

ACS posts a JSON array of CloudEvents 1.0; each element's `data` carries the fields named in the
SDK's generated models (camelCase). The models here flatten the fields the bot acts on and keep the
raw `data` for the call's history. A type the bot does not model becomes an `UnknownEvent`: ACS adds
event types over time and a new one must never make a whole delivery fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

EVENT_TYPE_PREFIX = "Microsoft.Communication."
# JSON objects arrive as dicts: `isinstance(value, dict)` below is a C check, where `Mapping`
# would go through the ABC machinery for every value of every event.

# Raw-id prefixes of the identifier kinds, for payloads that carry `rawId` but no `kind`
# (ACS puts `kind` in responses, not always in callback data).
_RAW_ID_KINDS: tuple[tuple[str, str], ...] = (
    ("8:acs:", "communicationUser"),
    ("8:spool:", "communicationUser"),
    ("8:dod-acs:", "communicationUser"),
    ("8:gcch-acs:", "communicationUser"),
    ("4:", "phoneNumber"),
    ("28:", "microsoftTeamsApp"),
    ("8:orgid:", "microsoftTeamsUser"),
    ("8:dod:", "microsoftTeamsUser"),
    ("8:gcch:", "microsoftTeamsUser"),
    ("8:teamsvisitor:", "microsoftTeamsUser"),
)
_KIND_KEYS = ("communicationUser", "phoneNumber", "microsoftTeamsUser", "microsoftTeamsApp")


class EventParseError(ValueError):
    """A callback body that is not a JSON array of CloudEvent objects."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResultInformation(_Frozen):
    code: int | None = None
    sub_code: int | None = None
    message: str | None = None


class ParticipantInfo(_Frozen):
    raw_id: str
    kind: str
    is_muted: bool = False
    is_on_hold: bool = False


class CallEvent(_Frozen):
    """Fields every callback event has. `type` is the short name, e.g. "CallConnected"."""

    id: str
    type: str
    source: str = ""
    time: datetime | None = None
    call_connection_id: str = ""
    server_call_id: str | None = None
    correlation_id: str | None = None
    operation_context: str | None = None
    result: ResultInformation | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CallConnected(CallEvent):
    type: Literal["CallConnected"] = "CallConnected"


class CallDisconnected(CallEvent):
    type: Literal["CallDisconnected"] = "CallDisconnected"


class ConnectFailed(CallEvent):
    type: Literal["ConnectFailed"] = "ConnectFailed"


class ParticipantsUpdated(CallEvent):
    type: Literal["ParticipantsUpdated"] = "ParticipantsUpdated"
    # ACS always sends it; None only for a payload without one, which cannot be ordered.
    sequence_number: int | None = None
    participants: list[ParticipantInfo] = Field(default_factory=list)


class ParticipantResultEvent(CallEvent):
    """Base of the add/remove participant outcomes: which participant they are about."""

    participant_raw_id: str | None = None


class AddParticipantSucceeded(ParticipantResultEvent):
    type: Literal["AddParticipantSucceeded"] = "AddParticipantSucceeded"


class AddParticipantFailed(ParticipantResultEvent):
    type: Literal["AddParticipantFailed"] = "AddParticipantFailed"


class RemoveParticipantSucceeded(ParticipantResultEvent):
    type: Literal["RemoveParticipantSucceeded"] = "RemoveParticipantSucceeded"


class RemoveParticipantFailed(ParticipantResultEvent):
    type: Literal["RemoveParticipantFailed"] = "RemoveParticipantFailed"


class InvitationResultEvent(CallEvent):
    """Base of the cancel-add outcomes: which invitation they are about."""

    invitation_id: str | None = None


class CancelAddParticipantSucceeded(InvitationResultEvent):
    type: Literal["CancelAddParticipantSucceeded"] = "CancelAddParticipantSucceeded"


class CancelAddParticipantFailed(InvitationResultEvent):
    type: Literal["CancelAddParticipantFailed"] = "CancelAddParticipantFailed"


class PlayStarted(CallEvent):
    type: Literal["PlayStarted"] = "PlayStarted"


class PlayCompleted(CallEvent):
    type: Literal["PlayCompleted"] = "PlayCompleted"


class PlayFailed(CallEvent):
    type: Literal["PlayFailed"] = "PlayFailed"
    failed_play_source_index: int | None = None


class PlayCanceled(CallEvent):
    type: Literal["PlayCanceled"] = "PlayCanceled"


class RecognizeCompleted(CallEvent):
    type: Literal["RecognizeCompleted"] = "RecognizeCompleted"
    recognition_type: str | None = None
    # Tone words as ACS sends them: "one", "pound", "asterisk"...
    tones: list[str] = Field(default_factory=list)
    choice_label: str | None = None


class RecognizeFailed(CallEvent):
    type: Literal["RecognizeFailed"] = "RecognizeFailed"


class RecognizeCanceled(CallEvent):
    type: Literal["RecognizeCanceled"] = "RecognizeCanceled"


class ContinuousDtmfRecognitionToneReceived(CallEvent):
    type: Literal["ContinuousDtmfRecognitionToneReceived"] = "ContinuousDtmfRecognitionToneReceived"
    tone: str | None = None
    sequence_id: int | None = None


class ContinuousDtmfRecognitionToneFailed(CallEvent):
    type: Literal["ContinuousDtmfRecognitionToneFailed"] = "ContinuousDtmfRecognitionToneFailed"


class ContinuousDtmfRecognitionStopped(CallEvent):
    type: Literal["ContinuousDtmfRecognitionStopped"] = "ContinuousDtmfRecognitionStopped"


class SendDtmfTonesCompleted(CallEvent):
    type: Literal["SendDtmfTonesCompleted"] = "SendDtmfTonesCompleted"


class SendDtmfTonesFailed(CallEvent):
    type: Literal["SendDtmfTonesFailed"] = "SendDtmfTonesFailed"


class RecordingStateChanged(CallEvent):
    """A recording of the call turned ``active`` or ``inactive`` (sent to its state callback)."""

    type: Literal["RecordingStateChanged"] = "RecordingStateChanged"
    recording_id: str | None = None
    state: str | None = None


class UnknownEvent(CallEvent):
    """Any event type the bot does not model: kept for the history, handled by nobody."""


EVENT_MODELS: dict[str, type[CallEvent]] = {
    model.model_fields["type"].default: model
    for model in (
        CallConnected,
        CallDisconnected,
        ConnectFailed,
        ParticipantsUpdated,
        AddParticipantSucceeded,
        AddParticipantFailed,
        RemoveParticipantSucceeded,
        RemoveParticipantFailed,
        CancelAddParticipantSucceeded,
        CancelAddParticipantFailed,
        PlayStarted,
        PlayCompleted,
        PlayFailed,
        PlayCanceled,
        RecognizeCompleted,
        RecognizeFailed,
        RecognizeCanceled,
        ContinuousDtmfRecognitionToneReceived,
        ContinuousDtmfRecognitionToneFailed,
        ContinuousDtmfRecognitionStopped,
        SendDtmfTonesCompleted,
        SendDtmfTonesFailed,
        RecordingStateChanged,
    )
}


def short_type(event_type: str) -> str:
    """`Microsoft.Communication.CallConnected` -> `CallConnected`; other strings unchanged."""
    return event_type.removeprefix(EVENT_TYPE_PREFIX)


def identifier_raw_id(identifier: object) -> str | None:
    """The raw id of a CommunicationIdentifierModel payload, derived when only its parts are sent."""
    if not isinstance(identifier, dict):
        return None
    raw_id = identifier.get("rawId")
    if isinstance(raw_id, str) and raw_id:
        return raw_id
    user = identifier.get("communicationUser")
    if isinstance(user, dict) and isinstance(user.get("id"), str):
        return str(user["id"])
    phone = identifier.get("phoneNumber")
    if isinstance(phone, dict) and isinstance(phone.get("value"), str):
        return "4:" + str(phone["value"])
    return None


def identifier_kind(identifier: Mapping[str, Any], raw_id: str) -> str:
    kind = identifier.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    for key in _KIND_KEYS:
        if isinstance(identifier.get(key), dict):
            return key
    for prefix, prefixed_kind in _RAW_ID_KINDS:
        if raw_id.startswith(prefix):
            return prefixed_kind
    return "unknown"


def _participants(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    found: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict):
            continue
        identifier = item.get("identifier")
        raw_id = identifier_raw_id(identifier)
        # An entry with no usable identifier cannot be tracked: skipped, not a failed delivery.
        if raw_id is None or not isinstance(identifier, dict):
            continue
        found.append(
            {
                "raw_id": raw_id,
                "kind": identifier_kind(identifier, raw_id),
                "is_muted": bool(item.get("isMuted", False)),
                "is_on_hold": bool(item.get("isOnHold", False)),
            }
        )
    return found


def _result(value: object) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {"code": value.get("code"), "sub_code": value.get("subCode"), "message": value.get("message")}


def _connection_id_from_source(source: str) -> str:
    # source and subject are "calling/callConnections/{callConnectionId}".
    _, separator, tail = source.rpartition("callConnections/")
    return tail.split("/", 1)[0] if separator else ""


def _specific_fields(model: type[CallEvent], data: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if issubclass(model, ParticipantsUpdated):
        fields["sequence_number"] = data.get("sequenceNumber")
        fields["participants"] = _participants(data.get("participants"))
    elif issubclass(model, ParticipantResultEvent):
        fields["participant_raw_id"] = identifier_raw_id(data.get("participant"))
    elif issubclass(model, InvitationResultEvent):
        fields["invitation_id"] = data.get("invitationId")
    elif issubclass(model, PlayFailed):
        fields["failed_play_source_index"] = data.get("failedPlaySourceIndex")
    elif issubclass(model, RecognizeCompleted):
        fields["recognition_type"] = data.get("recognitionType")
        dtmf = data.get("dtmfResult")
        tones = dtmf.get("tones") if isinstance(dtmf, dict) else None
        fields["tones"] = tones if tones is not None else []
        choice = data.get("choiceResult")
        fields["choice_label"] = choice.get("label") if isinstance(choice, dict) else None
    elif issubclass(model, ContinuousDtmfRecognitionToneReceived):
        fields["tone"] = data.get("tone")
        fields["sequence_id"] = data.get("sequenceId")
    elif issubclass(model, RecordingStateChanged):
        fields["recording_id"] = data.get("recordingId")
        fields["state"] = data.get("state")
    return fields


def parse_event(element: object, index: int = 0) -> CallEvent:
    """Parse one CloudEvent object of a callback body; `index` only serves error messages."""
    if not isinstance(element, dict):
        raise EventParseError(f"event {index}: expected a JSON object, got {_json_type(element)}")
    for key in ("id", "type"):
        if not isinstance(element.get(key), str) or not element[key]:
            raise EventParseError(f"event {index}: missing or empty string field {key!r}")
    data = element.get("data")
    if not isinstance(data, dict):
        raise EventParseError(f"event {index} ({element['id']}): field 'data' must be a JSON object")
    name = short_type(element["type"])
    model = EVENT_MODELS.get(name, UnknownEvent)
    source = element.get("source") if isinstance(element.get("source"), str) else ""
    call_connection_id = data.get("callConnectionId") or _connection_id_from_source(str(source))
    fields: dict[str, Any] = {
        "id": element["id"],
        "type": name,
        "source": source,
        "time": element.get("time"),
        "call_connection_id": call_connection_id,
        "server_call_id": data.get("serverCallId"),
        "correlation_id": data.get("correlationId"),
        "operation_context": data.get("operationContext"),
        "result": _result(data.get("resultInformation")),
        # pydantic copies it into the model: the event never shares the body's dict.
        "data": data,
        **_specific_fields(model, data),
    }
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise EventParseError(f"event {index} ({element['id']}, {name}): {problems}") from None


def parse_callback_body(payload: object) -> list[CallEvent]:
    """Parse a whole callback body (the already-decoded JSON) into typed events, in order."""
    if not isinstance(payload, list):
        raise EventParseError(f"callback body must be a JSON array of CloudEvents, got {_json_type(payload)}")
    return [parse_event(element, index) for index, element in enumerate(payload)]


def _json_type(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
    return type(value).__name__
