"""Room calls, their participants and the Call Automation connections to them.

A room call is the one conversation a room has while someone is in it. Each ``connect`` by an
app creates its own call connection to that call, with its own callback URI; the app itself is
not listed among the participants (ACS leaves bots out of participant lists and Event Grid).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ConnectionState = Literal["connecting", "connected", "disconnected"]
CallState = Literal["connected", "ended"]
LocatorKind = Literal["roomCallLocator", "serverCallLocator", "groupCallLocator"]


def new_server_call_id() -> str:
    """An opaque id shaped like ACS's: the standard, padded base64 of a conversation URL, so that
    it may hold ``/``, ``+`` and ``=`` (recorded live traffic, ``Azure/azure-sdk-assets``: the .NET
    Call Automation live test ``CreateCallToACSGetCallAndHangUpCallTest`` answers
    ``aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHku...L1ZneGxEMjh3ZlVLT0o4TXlMdHhxNHc/aT0xMC0x...NA==``). A client
    that puts it into a URL must escape it, as against the real service."""
    url = (
        f"https://conv-emulator.local:443/conv/{secrets.token_urlsafe(16)}?i=10-128-0-1"
        f"&e={secrets.randbelow(10**18)}"
    )
    return base64.b64encode(url.encode()).decode()


def new_connection_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class CallLocator:
    kind: LocatorKind
    id: str


@dataclass
class CallParticipant:
    raw_id: str
    # Roster role for room members; None for those who are not on a roster (phones).
    role: str | None
    display_name: str
    joined_at: datetime
    # Per-join id, as Event Grid's participantId.
    participant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "connected"
    is_muted: bool = False
    is_on_hold: bool = False


@dataclass
class CallConnection:
    id: str
    callback_uri: str
    operation_context: str | None
    locator: CallLocator
    created_at: datetime
    # Set when the connection found its call; a connection that never does ends in ConnectFailed.
    server_call_id: str | None
    correlation_id: str
    state: ConnectionState = "connecting"
    # Id of the connection's (never started) media streaming subscription, as ACS names one.
    media_subscription_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # callIntelligenceOptions.cognitiveServicesEndpoint of the connect request: without one, ACS
    # refuses text and SSML prompts on the connection.
    cognitive_services_endpoint: str | None = None
    # The api-version of the connect request: the ``version`` its events' data carry. None for
    # connections made without one (tests, the control API): the recorded default.
    api_version: str | None = None


@dataclass
class RoomCall:
    server_call_id: str
    room_id: str
    correlation_id: str
    started_at: datetime
    started_by: CallParticipant
    state: CallState = "connected"
    # rawId -> participant, in joining order (the order the participant lists page through).
    participants: dict[str, CallParticipant] = field(default_factory=dict)
    # callConnectionId -> connection, for every app connection still on the call.
    connections: dict[str, CallConnection] = field(default_factory=dict)
    # Media operations (play, recognize, send DTMF) in the order they were requested.
    media: list[dict[str, Any]] = field(default_factory=list)
    # Version of the participant list, carried by ParticipantsUpdated as sequenceNumber.
    sequence_number: int = 0

    def participants_changed(self) -> int:
        self.sequence_number += 1
        return self.sequence_number


class CallRegistry:
    """Running calls by room and by server call id, and live connections by id."""

    def __init__(self) -> None:
        self._by_room: dict[str, RoomCall] = {}
        self._by_server_id: dict[str, RoomCall] = {}
        self._connections: dict[str, CallConnection] = {}

    def add_call(self, call: RoomCall) -> None:
        self._by_room[call.room_id] = call
        self._by_server_id[call.server_call_id] = call

    def remove_call(self, call: RoomCall) -> None:
        self._by_room.pop(call.room_id, None)
        self._by_server_id.pop(call.server_call_id, None)

    def call_for_room(self, room_id: str) -> RoomCall | None:
        return self._by_room.get(room_id)

    def call_by_server_id(self, server_call_id: str) -> RoomCall | None:
        return self._by_server_id.get(server_call_id)

    def call_of(self, connection: CallConnection) -> RoomCall | None:
        if connection.server_call_id is None:
            return None
        return self._by_server_id.get(connection.server_call_id)

    def add_connection(self, connection: CallConnection) -> None:
        self._connections[connection.id] = connection

    def remove_connection(self, connection: CallConnection) -> None:
        self._connections.pop(connection.id, None)

    def connection(self, connection_id: str) -> CallConnection | None:
        return self._connections.get(connection_id)

    def calls(self) -> list[RoomCall]:
        return list(self._by_room.values())
