"""Call Automation wire shapes: identifiers, participants, CallConnectionProperties.

Field names follow the SDK's generated models (``CommunicationIdentifierModel``,
``CallParticipant``, ``CallConnectionProperties``). Identifiers in responses always carry
``kind`` and ``rawId`` plus the one property that matches the kind.
"""

from __future__ import annotations

import uuid
from typing import Any

from emulator.calls.model import CallConnection, CallParticipant

# Raw id prefixes of ACS communication users, in the public and the sovereign clouds.
ACS_USER_PREFIXES = ("8:acs:", "8:dod-acs:", "8:gcch-acs:", "8:spool:")
PHONE_PREFIX = "4:"
TEAMS_USER_PREFIXES = ("8:orgid:", "8:dod:", "8:gcch:", "8:teamsvisitor:")
BOT_PREFIX = "28:"


def identifier_kind(raw_id: str) -> str:
    if raw_id.startswith(PHONE_PREFIX):
        return "phoneNumber"
    if raw_id.startswith(ACS_USER_PREFIXES):
        return "communicationUser"
    if raw_id.startswith(TEAMS_USER_PREFIXES):
        return "microsoftTeamsUser"
    if raw_id.startswith(BOT_PREFIX):
        return "microsoftTeamsApp"
    return "unknown"


def is_acs_user(raw_id: str) -> bool:
    return identifier_kind(raw_id) == "communicationUser"


def identifier(raw_id: str) -> dict[str, Any]:
    kind = identifier_kind(raw_id)
    model: dict[str, Any] = {"kind": kind, "rawId": raw_id}
    if kind == "phoneNumber":
        model["phoneNumber"] = {"value": raw_id[len(PHONE_PREFIX) :]}
    elif kind == "communicationUser":
        model["communicationUser"] = {"id": raw_id}
    elif kind == "microsoftTeamsUser":
        prefix, _, user_id = raw_id.rpartition(":")
        cloud = {"8:dod": "dod", "8:gcch": "gcch"}.get(prefix, "public")
        model["microsoftTeamsUser"] = {
            "userId": user_id,
            "isAnonymous": prefix == "8:teamsvisitor",
            "cloud": cloud,
        }
    elif kind == "microsoftTeamsApp":
        model["microsoftTeamsApp"] = {"appId": raw_id.rpartition(":")[2], "cloud": "public"}
    return model


def participant(p: CallParticipant) -> dict[str, Any]:
    return {"identifier": identifier(p.raw_id), "isMuted": p.is_muted, "isOnHold": p.is_on_hold}


def connection_properties(connection: CallConnection, *, connect_answer: bool = False) -> dict[str, Any]:
    """CallConnectionProperties as ACS answers them, in two shapes (recorded live traffic,
    ``Azure/azure-sdk-assets``, ``CreateCallToAcsConnectCallAndHangupTest``): the answer to
    ``:connect`` has no ``serverCallId`` (it comes with CallConnected) and names the media
    streaming subscription with its id; ``GET`` of the connection has the ``serverCallId`` and
    both subscriptions, disabled (the emulator streams no media and transcribes nothing). The
    ``correlationId`` of the connect answer is the connect request's own, a new id, while ``GET``
    and every event carry the call's (recorded: ``c4203264-...`` answering the connect, then
    ``84fc1824-...`` for the same connection, in ``CreateCallToAcsConnectCallAndHangupForEveryoneTest``)."""
    body: dict[str, Any] = {
        "callConnectionId": connection.id,
        "targets": [],
        "callConnectionState": connection.state,
        "callbackUri": connection.callback_uri,
        "correlationId": str(uuid.uuid4()) if connect_answer else connection.correlation_id,
    }
    if connect_answer:
        body["mediaStreamingSubscription"] = {
            "id": connection.media_subscription_id,
            "state": "disabled",
            "subscribedContentTypes": ["audio"],
        }
        return body
    if connection.server_call_id is not None:
        body["serverCallId"] = connection.server_call_id
    body["mediaStreamingSubscription"] = {"state": "disabled"}
    body["transcriptionSubscription"] = {"state": "disabled", "subscribedResultTypes": []}
    return body
