"""The events a room call produces: Call Automation callbacks (CloudEvents 1.0) and the Event
Grid lifecycle events of the room call.

Callback ``data`` uses the field names of the SDK's generated event models (``CallConnected``,
``ParticipantsUpdated``, ``CallDisconnected``, ``ConnectFailed``...): ``callConnectionId``,
``serverCallId``, ``correlationId``, ``operationContext`` and ``resultInformation``. Every event's
data also carries ``version`` and ``publicEventType`` (the CloudEvent's ``type``), as every event
in Microsoft's recorded live-test traffic does (``Azure/azure-sdk-assets``,
``net/sdk/communication/Azure.Communication.CallAutomation/tests/SessionRecords/``; the .NET SDK's
event models declare both fields). The SDKs' generated models ignore them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emulator.calls import wire
from emulator.calls.model import CallConnection, CallParticipant, RoomCall

EVENT_PREFIX = "Microsoft.Communication."
# The ``version`` of event data is the api-version of the request that made the connection
# (recorded live events, ``Azure/azure-sdk-for-python``, ``tests/events/``: 2024-09-01-preview,
# 2025-05-15, 2026-03-12 as the SDK moved on); this one where no request named a version.
EVENT_DATA_VERSION = "2024-09-01-preview"
# Room calls are not group calls; Event Grid reports an empty group id for them.
NO_GROUP = {"id": "00000000-0000-0000-0000-000000000000"}


@dataclass(frozen=True)
class Result:
    """``resultInformation`` of an event: an HTTP-like code, ACS's subcode and a message."""

    code: int
    sub_code: int
    message: str

    def wire(self) -> dict[str, Any]:
        return {"code": self.code, "subCode": self.sub_code, "message": self.message}


# As recorded live (``Azure/azure-sdk-for-python``, ``tests/events/``, 2025): an empty message.
CONNECTED = Result(200, 0, "")
PARTICIPANTS_UPDATED = Result(200, 0, "")
# 8522 is ACS's generic "not found" subcode; here it means the locator names no running call.
NO_RUNNING_CALL = Result(404, 8522, "Call not found: no call is running for this call locator.")
ENDED_FOR_EVERYONE = Result(200, 7000, "The conversation has ended. DiagCode: 0#7000.@")
APP_LEFT = Result(200, 7000, "The call automation app left the call.")
LAST_PARTICIPANT_LEFT = Result(200, 0, "The call ended: the last participant left.")


def cloud_event(
    connection_id: str,
    name: str,
    data: dict[str, Any],
    now: datetime,
    *,
    subject: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """One callback; ``subject`` (and ``source``) name the call connection unless given."""
    subject = subject or f"calling/callConnections/{connection_id}"
    event_type = EVENT_PREFIX + name
    return {
        "id": str(uuid.uuid4()),
        "source": subject,
        "type": event_type,
        "data": {**data, "version": version or EVENT_DATA_VERSION, "publicEventType": event_type},
        "time": now.isoformat(),
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "subject": subject,
    }


def connection_data(connection: CallConnection, result: Result) -> dict[str, Any]:
    """The fields every callback of ``connection`` carries."""
    data: dict[str, Any] = {
        "callConnectionId": connection.id,
        "correlationId": connection.correlation_id,
        "resultInformation": result.wire(),
    }
    if connection.server_call_id is not None:
        data["serverCallId"] = connection.server_call_id
    if connection.operation_context is not None:
        data["operationContext"] = connection.operation_context
    return data


def participants_updated_data(connection: CallConnection, call: RoomCall) -> dict[str, Any]:
    data = connection_data(connection, PARTICIPANTS_UPDATED)
    # ParticipantsUpdated reports the list, not an operation: it carries no operationContext.
    data.pop("operationContext", None)
    data["sequenceNumber"] = call.sequence_number
    data["participants"] = [wire.participant(p) for p in call.participants.values()]
    return data


def _room_user(p: CallParticipant) -> dict[str, Any]:
    return {"rawId": p.raw_id, "communicationUser": {"id": p.raw_id}, "role": p.role}


def call_lifecycle_data(call: RoomCall) -> dict[str, Any]:
    """What every Event Grid event of a room call carries."""
    return {
        "startedBy": _room_user(call.started_by),
        "serverCallId": call.server_call_id,
        "group": dict(NO_GROUP),
        "room": {"id": call.room_id},
        "isTwoParty": False,
        "correlationId": call.correlation_id,
        "isRoomsCall": True,
    }


def participant_lifecycle_data(call: RoomCall, p: CallParticipant) -> dict[str, Any]:
    return {
        "user": _room_user(p),
        "displayName": p.display_name,
        "participantId": p.participant_id,
        "endpointType": "acs-emulator",
        **call_lifecycle_data(call),
    }


def started_subject(call: RoomCall) -> str:
    return f"call/{call.server_call_id}/startedBy/{call.started_by.raw_id}"


def ended_subject(call: RoomCall) -> str:
    return f"call/{call.server_call_id}"


def participant_subject(call: RoomCall, p: CallParticipant) -> str:
    return f"call/{call.server_call_id}/participant/{p.raw_id}"
